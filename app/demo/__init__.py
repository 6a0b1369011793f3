"""`pitcrew demo`: the product on this machine, against the sandbox of the outside world.

Unlike `app/sandbox/`, which imitates Slack, Railway, Vercel and UptimeRobot and knows nothing of
pitcrew, the demo drives pitcrew itself and checks its results (incidents, the audit chain), so it
may use every layer: `world` assembles the sandbox, pitcrew and the console; `story` plays the
scripted story and checks each step; `command` is the entry point that chooses between them.
"""
