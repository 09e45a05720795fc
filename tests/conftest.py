"""Fixtures shared by the test modules."""

from postgres import postgres_database, postgres_server  # noqa: F401  (pytest fixtures)
