"""The store: one DuckDB file with a versioned schema, the IP key beside it, and what it holds.

    connection  opening the file (waiting for another writer), transactions
    schema      tables and migrations
    privacy     the keyed hash that stands in for client IPs
    summary     the `wheelstats summary` figures
"""

from wheelstats.store.connection import LOCK_WAIT_SECONDS, connect, default_db_path, transaction
from wheelstats.store.schema import HIT_KINDS, MIGRATIONS, SCHEMA_VERSION, StoreError, migrate, schema_version

__all__ = [
    "HIT_KINDS", "LOCK_WAIT_SECONDS", "MIGRATIONS", "SCHEMA_VERSION", "StoreError", "connect",
    "default_db_path", "migrate", "schema_version", "transaction",
]
