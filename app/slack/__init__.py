"""The Slack edge: Bolt listeners that parse, call one flow, and render. Nothing else."""
