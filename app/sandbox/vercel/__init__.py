"""The fake Vercel: its world (world.py: projects, deployments, environment variables, runtime
logs, build events, drains and Vercel's rules for them) apart from its HTTP surface (rest.py: the
REST routes, the token check, rate limits, error shapes, and drain delivery; bodies.py: the JSON it
answers with), and a world to start from (sample.py). Import from the module that owns a name; this
package re-exports nothing.
"""
