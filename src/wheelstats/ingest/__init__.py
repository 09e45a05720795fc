"""Ingest: access logs into the store, batch by batch, each batch one transaction.

    ingester     each source from its checkpoint to its end: the flow below, in order
    checkpoints  which source a log is (by its head) and how far it has been read
    sources      reading plain, compressed and piped logs in blocks of whole lines
    follow       waiting for a followed log to grow, and noticing its rotation
    cursor       the lines of a source counted a whole chunk at a time; the open chunk waits
    chunks       content-defined chunks of lines and their fingerprints
    recognise    which chunks (or junctions of them) the store holds already
    writer       one batch parsed, classified and stored with its checkpoint, in one transaction
    detect       a new source's format found from its first lines (--format auto)
    formats      a source read in the wrong format, noticed on its first lines; candidates ranked
    forget       one source's rows, counts and checkpoint out of the store
    interrupts   Ctrl-C and SIGTERM never between a commit and its account
    account      where every line went: outcomes, each source's report, a run's account

The arrows point one way: ingester uses the others; none of them uses ingester.
"""

from wheelstats.ingest.account import ForgottenSource, RunAccount, SourceReport
from wheelstats.ingest.ingester import Ingester, StoreFull, ingest_files, ingest_paths
from wheelstats.ingest.sources import STDIN

__all__ = [
    "ForgottenSource", "Ingester", "RunAccount", "SourceReport", "STDIN", "StoreFull", "ingest_files", "ingest_paths",
]
