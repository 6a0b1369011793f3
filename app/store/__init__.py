"""Persistence: SQLAlchemy 2 models, the async engine, and the queries the flows use."""
