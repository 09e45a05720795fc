"""Client IP privacy: a keyed hash by default, with the key kept outside the store.

The key is 32 random bytes in a file beside the store (`<db>.key`, the store's
path resolved through symlinks first; or $WHEELSTATS_KEY_FILE), made with mode
0600 on first use. Without the key a stored hash cannot be turned back into an
address by trying all 2**32 IPv4 addresses; with it, the same client always
gets the same hash, so unique-client counts work.

They work only while every write uses the same key and the same IP mode, so the
store remembers both (the key by a fingerprint, never the key itself; see
settings.py) at its first write, and `client_key` refuses a write that would
split its clients: another --ip mode, another key, or a missing key (a new one
would make every client new). Existing stores without these settings are judged
by their hits: hashed clients and no key file are refused as well.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import tempfile
from pathlib import Path

import duckdb

from wheelstats.store.connection import connect, transaction
from wheelstats.store.errors import StoreError
from wheelstats.store.settings import IP_MODE, KEY_FINGERPRINT, read_settings, remember

IP_MODES = ("hash", "raw", "none")
KEY_BYTES = 32
HASHED_CLIENT = re.compile(r"[0-9a-f]{16}")  # what client_sql's hash mode stores
MODE_WORDS = {"hash": "client IPs as keyed hashes", "raw": "client IPs as they are", "none": "no client IPs"}
KEY_FIX = "Restore that file from a backup (or point $WHEELSTATS_KEY_FILE at it)"
NEW_KEY_HARM = "a new key would count every client again as new"


class InvalidIpMode(ValueError):
    def __init__(self, mode: str):
        super().__init__(f"Invalid --ip mode: {mode!r} (choose one of {', '.join(IP_MODES)})")


class KeyFileError(StoreError):
    """An IP key file that cannot be used: unreadable, a folder, or not 32 bytes."""


class IpModeMismatch(StoreError):
    def __init__(self, db_path: str | os.PathLike, stored: str, asked: str) -> None:
        super().__init__(
            f"The store {str(db_path)!r} was written with --ip {stored} ({MODE_WORDS[stored]}), not --ip {asked}: "
            f"mixing the two would make its unique-client counts wrong. Pass --ip {stored}, or use another store (--db)."
        )


class KeyMissing(StoreError):
    def __init__(self, db_path: str | os.PathLike, key_file: Path, fingerprint: str | None) -> None:
        which = f"the key {str(key_file)!r} (fingerprint {fingerprint})" if fingerprint else f"the key {str(key_file)!r}"
        super().__init__(
            f"The IP key of the store {str(db_path)!r} is missing: its clients were hashed with {which}. "
            f"{KEY_FIX}; {NEW_KEY_HARM}."
        )


class KeyMismatch(StoreError):
    def __init__(self, db_path: str | os.PathLike, key_file: Path, found: str, stored: str) -> None:
        super().__init__(
            f"The IP key {str(key_file)!r} (fingerprint {found}) is not the one the store {str(db_path)!r} "
            f"was hashed with (fingerprint {stored}). Restore the store's own key from a backup (or point "
            f"$WHEELSTATS_KEY_FILE at it); this one would count every client again as new."
        )


def key_path(db_path: str | os.PathLike) -> Path:
    """The key file of the store at `db_path`: $WHEELSTATS_KEY_FILE, or beside the store's real file."""
    override = os.environ.get("WHEELSTATS_KEY_FILE")
    return Path(override) if override else Path(f"{Path(db_path).resolve()}.key")


def fingerprint(key: bytes) -> str:
    """Names a key without revealing it: 16 hex digits of a hash of it."""
    return hashlib.sha256(b"wheelstats IP key fingerprint\0" + key).hexdigest()[:16]


def read_key(path: Path) -> bytes | None:
    """The key in the file at `path`, or None if there is none."""
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise KeyFileError(
            f"The IP key file {str(path)!r} is a folder. Move it away, or point $WHEELSTATS_KEY_FILE at the key file."
        ) from None
    except OSError as error:
        raise KeyFileError(
            f"Cannot read the IP key file {str(path)!r}: {error.strerror}. "
            "Run as the user that owns it, or point $WHEELSTATS_KEY_FILE at a readable copy."
        ) from None
    if len(key) != KEY_BYTES:
        raise KeyFileError(
            f"The IP key file {str(path)!r} holds {len(key)} bytes, not {KEY_BYTES}: it is not a wheelstats key. "
            f"{KEY_FIX}."
        )
    return key


def create_key(path: Path) -> bytes:
    """Make the key file at `path` atomically; if another process made one first, theirs is the key.

    The key is written whole to a temporary file, then hard-linked into place:
    a reader sees no file or the whole key, never a part of it, and of two
    processes racing, the second one's link fails and it reads the first one's.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise KeyFileError(f"Cannot make the IP key file {str(path)!r}: {error.strerror}.") from None
    try:
        with os.fdopen(fd, "wb") as out:  # mkstemp makes it 0600
            out.write(secrets.token_bytes(KEY_BYTES))
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        except OSError as error:
            raise KeyFileError(f"Cannot make the IP key file {str(path)!r}: {error.strerror}.") from None
    finally:
        os.unlink(temporary)
    key = read_key(path)
    if key is None:
        raise KeyFileError(f"The IP key file {str(path)!r} vanished as it was made. Run the command again.")
    return key


def load_key(db_path: str | os.PathLike) -> bytes:
    """The hashing key for the store at `db_path`, made on first use (see `client_key` for the checks)."""
    path = key_path(db_path)
    key = read_key(path)
    return key if key is not None else create_key(path)


def _stored_ip_mode(con: duckdb.DuckDBPyConnection) -> str | None:
    """How the store's clients were stored, judged from its hits (for stores older than the setting)."""
    row = con.execute("SELECT client FROM hits WHERE client IS NOT NULL LIMIT 1").fetchone()
    if row is not None:
        return "hash" if HASHED_CLIENT.fullmatch(row[0]) else "raw"
    has_hits = con.execute("SELECT EXISTS (SELECT 1 FROM hits)").fetchone()[0]
    return "none" if has_hits else None


def client_key(
    db_path: str | os.PathLike, ip_mode: str, *, con: duckdb.DuckDBPyConnection | None = None
) -> bytes | None:
    """The key to write clients into the store at `db_path` with `ip_mode` (None unless hashing).

    Refuses (IpModeMismatch, KeyMissing, KeyMismatch) a write that would split the
    store's clients, and at the first write remembers the mode and key
    fingerprint. Opens the store (creating it) unless `con` is given.
    """
    if ip_mode not in IP_MODES:
        raise InvalidIpMode(ip_mode)
    if con is None:
        con = connect(db_path)
        try:
            return client_key(db_path, ip_mode, con=con)
        finally:
            con.close()
    with transaction(con):
        recorded = read_settings(con)
        stored_mode = recorded.ip_mode or _stored_ip_mode(con)
        if stored_mode is not None and stored_mode != ip_mode:
            raise IpModeMismatch(db_path, stored_mode, ip_mode)
        key = None
        if ip_mode == "hash":
            path = key_path(db_path)
            key = read_key(path)
            if key is None:
                if recorded.key_fingerprint or stored_mode == "hash":
                    raise KeyMissing(db_path, path, recorded.key_fingerprint)
                key = create_key(path)
            elif recorded.key_fingerprint and fingerprint(key) != recorded.key_fingerprint:
                raise KeyMismatch(db_path, path, fingerprint(key), recorded.key_fingerprint)
            remember(con, KEY_FINGERPRINT, fingerprint(key))
        remember(con, IP_MODE, ip_mode)
    return key


def client_number(client: str, ip_mode: str) -> int | None:
    """The 64-bit number a stored client is kept as (hit_rows.client), from the text `client_sql`
    gives: the keyed hash's 16 hex digits are that number; an address (--ip raw) is numbered by
    the first 64 bits of its SHA-256 (hit_clients keeps the address)."""
    if ip_mode == "none":
        return None
    if ip_mode == "hash":
        return int(client, 16)
    return int.from_bytes(hashlib.sha256(client.encode()).digest()[:8], "big")


def hashed_client_numbers(addresses: list[str], key: bytes) -> list[int]:
    """`client_number` of each address as `client_sql`'s hash mode stores it (sha256(key hex || ip))."""
    prefix = key.hex().encode()
    sha256 = hashlib.sha256
    return [int.from_bytes(sha256(prefix + address.encode()).digest()[:8], "big") for address in addresses]


def stored_client_number_sql(column: str, ip_mode: str | None) -> str:
    """SQL for `client_number` over a column of stored clients' text. With `ip_mode` None (a store
    older than the setting), each is judged by its form: 16 lowercase hex digits are a hash."""
    hashed = f"('0x' || {column})::UBIGINT"
    address = f"('0x' || substr(sha256({column}), 1, 16))::UBIGINT"
    if ip_mode == "hash":
        return hashed
    if ip_mode == "raw":
        return address
    if ip_mode == "none":
        return "NULL::UBIGINT"
    return f"CASE WHEN regexp_full_match({column}, '{HASHED_CLIENT.pattern}') THEN {hashed} ELSE {address} END"


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
