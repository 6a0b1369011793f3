"""Clients of the outside world (Railway, Vercel, HTTP endpoints, PostgreSQL), one module each."""
