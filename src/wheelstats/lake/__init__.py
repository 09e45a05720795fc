"""The lake: the store's tables as Parquet files in a folder that DuckDB, Spark and Ibis all read.

    layout   where each table lives, the lake's manifest and schema version
    ledger   explicit commits: a job's files are staged, renamed into place, then listed in the ledger;
             readers see only what the ledger lists, so never half a job
    export   a store into the lake (only what the ledger does not hold yet)
    reading  the lake's tables as the store's, on a DuckDB connection, so the store's queries run unchanged
    rollups  the dashboard's rollups made from the lake's hits, and a store of views for its reader

docs/lake.md describes the layout and the rules.
"""

from wheelstats.lake.layout import LAKE_VERSION, Lake, LakeError
from wheelstats.lake.export import ExportSummary, export_store
from wheelstats.lake.reading import open_lake

__all__ = ["LAKE_VERSION", "ExportSummary", "Lake", "LakeError", "export_store", "open_lake"]
