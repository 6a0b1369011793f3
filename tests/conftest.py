"""Registers the fixtures of `tests/fixtures.py` for every test: `db_url` (a fresh database per test,
on SQLite and on PostgreSQL), `fake_slack`, `service` (a sample backend) and `sandbox`. A test
asks for them by name."""

from tests.fixtures import db_url, fake_slack, sandbox, service

__all__ = ["db_url", "fake_slack", "sandbox", "service"]
