"""Rollups: the live figures, end to end.

Downloads are rolled up per day (and month, hour, project, file and client)
as they arrive, and the dashboard, the API, the badges and the index's own
pages answer from these small tables in plain SQL.

    refresh  keeping the rollups current from a watermark over the hits
    filters  which downloads a figure counts (period, project, toggles), as SQL
    saved    time saved per file download, as SQL written from the methods' data
    queries  the figures: totals, series, top projects, shares, time saved
    reader   the one cached reader: read-only connections, answers cached until the store changes
"""

from wheelstats.rollups.refresh import (
    ROLLUP_TABLES,
    RefreshFailed,
    RefreshReport,
    RollupState,
    refresh_rollups,
    refresh_store,
    rollup_state,
)

__all__ = ["ROLLUP_TABLES", "RefreshFailed", "RefreshReport", "RollupState", "refresh_rollups", "refresh_store",
           "rollup_state"]
