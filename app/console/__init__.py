"""The terminal stand-in for Slack: `pitcrew console` and the scripted `pitcrew demo` run on it.

It drives the very same Bolt app through a FakeSlack, so what a newcomer tries here is what
their team will get in Slack; `render` turns Block Kit into terminal text, `session` runs it.
"""
