"""Who downloads: the dimensions a download is split by, and which downloads are not people's.

Shared by the report's Ibis queries (stats/) and the dashboard's rollups
(rollups/), so both name and group the same things the same way; and the country
codes a hit stores (parsing/countries looks them up), with their names.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

UNKNOWN = "unknown"  # a facet whose agent does not state it

# Each share dimension is a column of the agents table.
DIMENSIONS = {
    "os": "os_name",
    "distro": "distro_name",
    "arch": "cpu",
    "python": "python_version",
    "installer": "installer_name",
}

# Installers that copy a whole index rather than install: their downloads are not users'.
MIRROR_INSTALLERS = ("bandersnatch", "z3c.pypimirror", "devpi", "Artifactory", "Nexus", "pep381client")


def bot_sql(agent: str = "a") -> str:
    """SQL over an agents row: a crawler (agents.is_bot) or a mirroring tool; false when the agent is unknown."""
    return (f"(coalesce({agent}.is_bot, false) OR "
            f"coalesce({agent}.installer_name IN {MIRROR_INSTALLERS!r}, false))")


def version_sort_key(version: str) -> tuple:
    """Sort "3.10" after "3.9" and unknown values last."""
    parts = version.split(".")
    if all(part.isdigit() for part in parts):
        return (0, tuple(int(part) for part in parts))
    return (1, version)


# Where a download came from: each hit's country, looked up at ingest (parsing/countries).
# Stored as two characters: an ISO 3166-1 alpha-2 code, or one of ISO's user-assigned codes
# that no country will have: a local address (private, loopback...) or one no registry places.
LOCAL_COUNTRY = "XL"
UNPLACED_COUNTRY = "ZZ"
NOT_LOOKED_UP = "not looked up"  # a hit stored before countries were (schema 8) or with --country off


@cache
def _country_names() -> dict[str, str]:
    """ISO 3166-1 alpha-2 -> English name (country_names.json, made by scripts/world_map.py)."""
    return json.loads(Path(__file__).with_name("country_names.json").read_text(encoding="utf-8"))


def country_name(code: str | None) -> str:
    """What a page calls a stored country code (None: never looked up)."""
    if code is None:
        return NOT_LOOKED_UP
    if code == LOCAL_COUNTRY:
        return "local network"
    if code == UNPLACED_COUNTRY:
        return UNKNOWN
    return _country_names().get(code, code)
