"""pitcrew: a ChatOps bot for Slack that turns operations runbooks into commands and buttons."""

__version__ = "0.1.0"
