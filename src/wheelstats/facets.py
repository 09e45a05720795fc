"""Who downloads: the dimensions a download is split by, and which downloads are not people's.

Shared by the report's Ibis queries (stats/) and the dashboard's rollups
(rollups/), so both name and group the same things the same way.
"""

from __future__ import annotations

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
