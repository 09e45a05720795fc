"""The site's name in a report: the store remembers it, so every report of one store names it alike.

The first `--site NAME` given for a store is remembered as its site's name
(`wheelstats import piwheels` remembers "piwheels"); a later --site names that
one report only. A store with no name yet is "this index" (DEFAULT_SITE).
"""

from __future__ import annotations

from pathlib import Path

from wheelstats import store
from wheelstats.report.figures import DEFAULT_SITE
from wheelstats.store.settings import SITE_NAME, read_settings, remember

REMEMBER_WAIT_SECONDS = 1.0  # a report does not wait long to remember a name for next time


def remembered_site(db_path: str | Path, given: str | None = None) -> str:
    """The site's name for a report of the store at `db_path`, remembering `given` if it has none yet."""
    con = store.connect(db_path, read_only=True)
    try:
        stored = read_settings(con).site_name
    finally:
        con.close()
    if given is None:
        return stored or DEFAULT_SITE
    if stored is None:
        try:
            con = store.connect(db_path, wait_seconds=REMEMBER_WAIT_SECONDS)
        except store.StoreError:  # busy, or on a read-only disk: name this report, remember another time
            return given
        try:
            remember(con, SITE_NAME, given)
        finally:
            con.close()
    return given
