"""The fake Railway: its world (world.py: services, deployments, logs, variables and Railway's rules
for them; logs.py: log levels and filter syntax) apart from its HTTP surface (graphql.py: the GraphQL
endpoint, credentials, rate limits, error shapes and one resolver per operation; bodies.py: the JSON
of the types it answers with), and a world to start from (sample.py). Import from the module that
owns a name; this package re-exports nothing.
"""
