"""Ingest: access logs into the store, block by block, each block one transaction.

    ingester     each source from its checkpoint to its end: the flow below, in order
    checkpoints  which source a log is (by its head) and how far it has been read
    sources      reading plain, compressed and standard-input logs in blocks of whole lines
    follow       waiting for a followed log to grow, and noticing its rotation
    writer       one block parsed, classified and stored with its checkpoint, in one transaction
    account      where every line went: outcomes and each source's report

The arrows point one way: ingester uses the others; none of them uses ingester.
"""

from wheelstats.ingest.account import SourceReport
from wheelstats.ingest.ingester import Ingester, ingest_files, ingest_paths
from wheelstats.ingest.sources import STDIN

__all__ = ["Ingester", "SourceReport", "STDIN", "ingest_files", "ingest_paths"]
