"""The store: one DuckDB file with a versioned schema, the IP key beside it, and what it holds.

    connection  opening the file (only a store; waiting for another writer), transactions
    errors      why a store cannot be used, one error type per kind
    schema      tables and migrations
    settings    what the store remembers about itself (IP mode, key fingerprint, site name)
    privacy     the keyed hash that stands in for client IPs, and its key
    summary     the `wheelstats summary` figures
"""

from wheelstats.store.connection import LOCK_WAIT_SECONDS, all_threads, connect, default_db_path, transaction
from wheelstats.store.errors import (
    NewerStore, NoStore, NotAStore, StoreDamaged, StoreError, StoreFull, StoreInUse, StoreIsAFolder,
)
from wheelstats.store.schema import HIT_KINDS, MIGRATIONS, ROW_GROUP_ROWS, SCHEMA_VERSION, migrate, schema_version

__all__ = [
    "HIT_KINDS", "LOCK_WAIT_SECONDS", "MIGRATIONS", "NewerStore", "NoStore", "NotAStore", "ROW_GROUP_ROWS",
    "SCHEMA_VERSION", "StoreDamaged", "StoreError", "StoreFull", "StoreInUse", "StoreIsAFolder", "all_threads",
    "connect", "default_db_path", "migrate", "schema_version", "transaction",
]
