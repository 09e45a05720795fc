"""What a store remembers about itself, each setting set once: the first value stays.

    ip_mode             how its client IPs were stored (hash, raw or none)
    ip_key_fingerprint  which key hashed them (a fingerprint of the key, never the key)
    site_name           the site's name, as reports call it
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

IP_MODE = "ip_mode"
KEY_FINGERPRINT = "ip_key_fingerprint"
SITE_NAME = "site_name"


@dataclass(frozen=True, slots=True)
class StoreSettings:
    ip_mode: str | None = None
    key_fingerprint: str | None = None
    site_name: str | None = None


def read_settings(con: duckdb.DuckDBPyConnection) -> StoreSettings:
    values = dict(con.execute("SELECT name, value FROM settings").fetchall())
    return StoreSettings(values.get(IP_MODE), values.get(KEY_FINGERPRINT), values.get(SITE_NAME))


def remember(con: duckdb.DuckDBPyConnection, name: str, value: str) -> str:
    """Set `name` to `value` unless the store has a value for it already; return the stored value."""
    con.execute("INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", [name, value])
    return con.execute("SELECT value FROM settings WHERE name = ?", [name]).fetchone()[0]
