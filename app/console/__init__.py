"""The terminal stand-in for Slack: `pitcrew console` and the scripted `pitcrew demo` run on it.

It drives the very same Bolt app through a FakeSlack, so what a newcomer tries here is what
their team will get in Slack: `session` runs it, reading lines from `lines`, printing on the
`screen` with `render` turning Block Kit into terminal text.
"""
