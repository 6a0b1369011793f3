"""Local stand-ins for Slack, Railway, Vercel and a sample service, served over real HTTP on loopback.

They imitate the outside world and know nothing of pitcrew. The same stand-ins serve the console,
`pitcrew demo` (`app/demo/`) and the tests, so what the tests exercise is what a newcomer sees.
"""
