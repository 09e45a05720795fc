"""Ingest: access logs into the store, block by block, each block one transaction.

    sources   reading plain, compressed and standard-input logs in blocks of whole lines
    ingester  parsing, classifying and storing each block with its source's checkpoint
"""

from wheelstats.ingest.ingester import Ingester, SourceReport, ingest_files, ingest_paths
from wheelstats.ingest.sources import STDIN

__all__ = ["Ingester", "SourceReport", "STDIN", "ingest_files", "ingest_paths"]
