"""The statistics layer: every figure is one query function written with Ibis.

The functions take a `Tables` record (Ibis tables for hits, agents, files and
builds, and the wheels' Requires-Dist where the store records them) and a `Period`, run on whatever backend the tables are bound to
(DuckDB here, PySpark over Parquet elsewhere), and return small records; no raw
rows come back into Python. Only portable Ibis operations are used: filters,
joins, group-by aggregates, `year`/`month`/`date`, `ibis.cases`/`ifelse`/
`greatest`, `count(where=...)`, `nunique`, row windows and the window
functions `lag`, `row_number` and a cumulative `sum` (sessions), and
`epoch_seconds`.
"""

from wheelstats.stats.tables import (
    EmptyStore, Tables, download_rows, downloads_with_savings, file_savings, open_tables, tables_of, tables_on,
)
from wheelstats.stats.totals import (
    DayCount,
    MonthCount,
    TimeSaved,
    download_span,
    downloads_all_time,
    downloads_by_day,
    downloads_by_month,
    downloads_in_period,
    peak_day,
    peak_month,
    time_saved,
    time_saved_all_time,
    unique_clients,
)
from wheelstats.stats.projects import (
    ProjectCount,
    ProjectRise,
    Spike,
    display_names,
    spikes,
    top_projects,
    top_projects_by_month,
)
from wheelstats.stats.aftermath import After, PythonEffect
from wheelstats.stats.causes import Cause, Opener
from wheelstats.stats.explained import ExplainedSpike, explain_spikes
from wheelstats.stats.sessions import DEFAULT_GAP, sessions
from wheelstats.stats.shares import (
    DIMENSIONS,
    CountryShare,
    country_shares,
    PythonMonthShare,
    Share,
    all_shares,
    python_by_month,
    shares,
)

__all__ = [
    "After", "Cause", "DEFAULT_GAP", "ExplainedSpike", "Opener", "PythonEffect", "explain_spikes", "sessions",
    "CountryShare", "country_shares", "DIMENSIONS", "EmptyStore", "DayCount", "MonthCount", "ProjectCount", "PythonMonthShare", "Share",
    "Spike", "Tables", "all_shares", "TimeSaved", "download_rows", "download_span", "downloads_all_time",
    "downloads_by_day", "downloads_by_month", "downloads_in_period",
    "display_names", "downloads_with_savings", "file_savings", "open_tables", "ProjectRise", "peak_day", "peak_month", "python_by_month",
    "shares", "spikes", "tables_of", "tables_on", "time_saved", "time_saved_all_time", "top_projects",
    "top_projects_by_month", "unique_clients",
]
