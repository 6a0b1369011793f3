"""Block Kit renderers: result objects in, Slack messages (`{"text", "blocks"}`) out, a module per capability.

Kept free of flows and Bolt so that the console and the tests read the very messages Slack would get.
"""
