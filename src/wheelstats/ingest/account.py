"""The account of an ingest: where every line read went, per source.

Each line has one outcome: a hit of some kind, ignored for a reason,
rejected for a reason, or already ingested (the store held the same lines,
read from another source: the reason names it). The classify SQL names the
first three in one text ('download', 'ignore:method', 'reject:bad_time');
`OUTCOME_PARTS_SQL` splits that text once, in SQL, into the two columns an
`Outcome` is made of, and everything after works with `Outcome` records.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

HIT = "hit"
IGNORED = "ignored"
REJECTED = "rejected"
ALREADY_INGESTED = "already_ingested"

# Over a column `outcome` as the classify SQL writes it: its kind and its reason.
OUTCOME_PARTS_SQL = f"""
    CASE WHEN starts_with(outcome, 'reject:') THEN '{REJECTED}'
         WHEN starts_with(outcome, 'ignore:') THEN '{IGNORED}'
         ELSE '{HIT}' END AS outcome_kind,
    CASE WHEN contains(outcome, ':') THEN split_part(outcome, ':', 2) ELSE outcome END AS outcome_reason
"""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of a line: `kind` is HIT, IGNORED, REJECTED or ALREADY_INGESTED; `reason` the
    hit kind, why, or the source that held the line already."""

    kind: str
    reason: str

    @classmethod
    def rejected(cls, reason: str) -> Outcome:
        return cls(REJECTED, reason)


@dataclass(frozen=True, slots=True)
class WrittenBlock:
    """What a committed batch added: its lines, each with one outcome."""

    lines: int
    outcomes: Counter[Outcome]

    @property
    def hits(self) -> int:
        return sum(n for outcome, n in self.outcomes.items() if outcome.kind == HIT)


@dataclass(slots=True)
class SourceReport:
    """What one run did with one source: every line read is in exactly one count.

    The counts grow block by block, only once a block is committed, so after an
    interrupt they say exactly what was stored.
    """

    name: str
    source_id: int | None = None
    resumed_at: int = 0          # offset the run started from (content seen before)
    lines: int = 0
    hits: Counter = field(default_factory=Counter)
    ignored: Counter = field(default_factory=Counter)
    rejected: Counter = field(default_factory=Counter)
    already_ingested: Counter = field(default_factory=Counter)  # by the source that held them
    held_back_bytes: int = 0     # an unterminated last line, left for when it ends
    broken: str | None = None    # why a compressed stream ended early
    log_format: str | None = None  # the format it is read with (as recorded with the source)
    format_detected: bool = False  # whether that format was detected (--format auto), not given

    @property
    def balanced(self) -> bool:
        counted = (self.hits, self.ignored, self.rejected, self.already_ingested)
        return self.lines == sum(sum(counter.values()) for counter in counted)

    def add(self, other: SourceReport) -> None:
        self.lines += other.lines
        self.hits.update(other.hits)
        self.ignored.update(other.ignored)
        self.rejected.update(other.rejected)
        self.already_ingested.update(other.already_ingested)

    def count(self, written: WrittenBlock) -> None:
        """Count a committed batch."""
        self.tally(written.outcomes, written.lines)

    def tally(self, outcomes: Counter[Outcome], lines: int) -> None:
        """Count a committed block: `lines` read, with these outcomes."""
        self.lines += lines
        counters = {HIT: self.hits, IGNORED: self.ignored, REJECTED: self.rejected,
                    ALREADY_INGESTED: self.already_ingested}
        for outcome, count in outcomes.items():
            counters[outcome.kind][outcome.reason] += count


@dataclass(frozen=True, slots=True)
class ForgottenSource:
    """What `forget` removed: one source's rows, counts, fingerprints and checkpoint."""

    source_id: int
    name: str
    lines: int
    hits: int
    ignored: int
    rejected: int
    already_ingested: int
    skipped_elsewhere: tuple[SkippedElsewhere, ...] = ()  # lines of other sources not counted because of it


@dataclass(frozen=True, slots=True)
class SkippedElsewhere:
    """Lines another source did not count because a forgotten source held them."""

    source: str
    lines: int


@dataclass(slots=True)
class RunAccount:
    """What one run did, filled as it goes: after an interrupt or an error it says what was stored."""

    reports: list[SourceReport] = field(default_factory=list)
    forgotten: list[ForgottenSource] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # what the user should know about the store, once

    @property
    def lines(self) -> int:
        """Lines this run counted in all its sources, each with the batch that stored it."""
        return sum(report.lines for report in self.reports)
