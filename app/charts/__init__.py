"""Charts: images drawn from the core's result objects, for any edge to attach (Slack uploads them,
the console writes them to a file). matplotlib is imported only when a chart is drawn."""
