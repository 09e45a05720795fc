"""Client IP privacy: a keyed hash by default, kept outside the store.

The key is 32 random bytes in a file beside the store (`<db>.key`, or
$WHEELSTATS_KEY_FILE), created with mode 0600 on first use. Without the key a
stored hash cannot be turned back into an address by trying all 2**32 IPv4
addresses; with it, the same client always gets the same hash, so unique-client
counts still work.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

IP_MODES = ("hash", "raw", "none")
KEY_BYTES = 32


class InvalidIpMode(ValueError):
    def __init__(self, mode: str):
        super().__init__(f"Invalid --ip mode: {mode!r} (choose one of {', '.join(IP_MODES)})")


def key_path(db_path: str | Path) -> Path:
    override = os.environ.get("WHEELSTATS_KEY_FILE")
    return Path(override) if override else Path(f"{db_path}.key")


def load_key(db_path: str | Path) -> bytes:
    """The hashing key for the store at `db_path`, created on first use."""
    path = key_path(db_path)
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        key = secrets.token_bytes(KEY_BYTES)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            return load_key(db_path)
        with os.fdopen(fd, "wb") as out:
            out.write(key)
    if len(key) != KEY_BYTES:
        raise ValueError(
            f"The IP key file {str(path)!r} holds {len(key)} bytes, not {KEY_BYTES}. "
            "Restore it from a backup, or delete it to start new client hashes."
        )
    return key


def client_sql(column: str, ip_mode: str, key: bytes | None) -> str:
    """A DuckDB SQL expression that turns the IP in `column` into the stored client."""
    if ip_mode == "hash":
        if key is None:
            raise ValueError("ip_mode 'hash' needs a key")
        # sha256(key || ip): a keyed hash; 16 hex digits (64 bits) is ample to
        # count distinct clients and keeps the column small.
        return f"substr(sha256('{key.hex()}' || {column}), 1, 16)"
    if ip_mode == "raw":
        return column
    if ip_mode == "none":
        return "NULL::VARCHAR"
    raise InvalidIpMode(ip_mode)
