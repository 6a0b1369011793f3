"""The use cases, one module per capability: values in, a result object out.

A flow loads what it needs, decides with `core/`, acts through `providers/` and `store/`, and
never imports `slack/`, `web.py` or `console/`, so that a slash command, the console, a webhook
and a scheduled job all run the very same code.
"""
