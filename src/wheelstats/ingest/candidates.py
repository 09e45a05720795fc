"""A batch's lines as outcomes and candidate hits, whether the kernel read them or the SQL definition did.

The kernel (parsing/program.py) reads most lines; the ones it defers, and every
line of a format it has no program for, are read by the SQL definition
(classify.parse_sql, screened as the writer screens it). Both end here in one
form: each line's outcome, and for the candidate hits (the five base kinds;
an index lookup becomes a search once its agent is known) their fields as
per-line ids into lists of distinct values, in the form the store keeps them
(project canonical, referrer unescaped, client the address to hash, path only
where its kind, project and file do not make it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from wheelstats import arrays
from wheelstats.parsing.classify import FORWARDED_ADDRESS, canonical_name
from wheelstats.parsing.escapes import EscapeStyle
from wheelstats.parsing.lines import Rejection, sample_of
from wheelstats.parsing.program import (
    CANDIDATE_HITS, DECODE_PATH, FIRST_REJECTION, KERNEL_OUTCOMES, ParsedLines, classify, value_keys,
)
from wheelstats.store.schema import HIT_KINDS

SAMPLES_PER_REASON = 20
BASE_KINDS = KERNEL_OUTCOMES[1:6]  # index, download, project_page, json, page
FORWARDED = re.compile(FORWARDED_ADDRESS)


@dataclass(frozen=True, slots=True)
class Values:
    """One field of the candidate hits: per line an index into `values` (-1: none)."""

    ids: np.ndarray          # int32
    values: list[str | None]  # None: no value
    keys: np.ndarray | None = None  # the clients': uint64 per value, its key (program.value_keys)

    @classmethod
    def of(cls, column: pa.Array) -> Values:
        """From a column of strings (nulls: no value)."""
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        encoded = column.dictionary_encode()  # pyarrow imports its compute module (60 ms) here, on this path only
        return cls(arrays.as_numpy(encoded.indices.cast(pa.int32()).fill_null(-1)), encoded.dictionary.to_pylist())

    def take(self, rows: np.ndarray) -> Values:
        return Values(self.ids[rows], self.values, self.keys)

    def with_keys(self, keys: np.ndarray | None = None) -> Values:
        """These values with their keys: `keys` (the kernel's, for the same values), or made from the values."""
        return Values(self.ids, self.values, value_keys(self.values) if keys is None else keys)


@dataclass(frozen=True, slots=True)
class Candidates:
    """Candidate hits: lines whose outcome is a base kind, with their fields."""

    line_no: np.ndarray      # int64
    kind: np.ndarray         # uint8: index into BASE_KINDS
    ts_us: np.ndarray        # int64, UTC microseconds
    bytes_sent: np.ndarray   # int64, -1: none
    agent: Values            # as logged (the agents' join key)
    project: Values
    filename: Values
    path: Values             # only where the kind, project and file do not make it
    referrer: Values
    client: Values           # the address to number, with its keys

    def __len__(self) -> int:
        return len(self.line_no)


@dataclass(frozen=True, slots=True)
class ReadLines:
    """What became of lines read one way: counts by outcome name, samples of the rejected, candidates."""

    counts: dict[str, int]
    rejections: list[Rejection]
    candidates: Candidates


def _samples(reasons: np.ndarray, names: tuple[str, ...], line_nos: np.ndarray, line_of) -> list[Rejection]:
    """The first SAMPLES_PER_REASON lines of each rejected outcome (reasons: per line, an index into names)."""
    samples = []
    for code in np.unique(reasons).tolist():
        name = names[code]
        if not name.startswith("reject:"):
            continue
        for index in np.flatnonzero(reasons == code)[:SAMPLES_PER_REASON].tolist():
            samples.append(Rejection(int(line_nos[index]), name.partition(":")[2], sample_of(line_of(index))))
    return samples


@dataclass(frozen=True, slots=True)
class DecodedPaths:
    """A block's %-escaped paths, decoded and classified: per distinct path (the kernel's path id)."""

    outcome: np.ndarray           # uint8: a KERNEL_OUTCOMES code (a base kind, OTHER_PATH or DEFER)
    names: list[str | None]       # the project, canonical
    filenames: list[str | None]
    paths: list[str | None]       # the decoded path, None where its kind, project and file make it

    @classmethod
    def of(cls, decoded: list[str]) -> DecodedPaths:
        kinds = [classify(path) for path in decoded]
        return cls(
            np.array([KERNEL_OUTCOMES.index(kind.outcome) for kind in kinds], dtype=np.uint8),
            [canonical_name(kind.name) if kind.name is not None else None for kind in kinds],
            [kind.filename for kind in kinds],
            [None if kind.implied else path for kind, path in zip(kinds, decoded)],
        )


def from_kernel(parsed: ParsedLines, outcome: np.ndarray, data: bytes, ends: np.ndarray, first: int,
                first_line_no: int, counted: np.ndarray, escape: EscapeStyle, use_forwarded: bool,
                decoded: DecodedPaths | None) -> ReadLines:
    """The lines the kernel decided (`counted`: bool per line, those not held already and not deferred;
    `outcome`: the kernel's, with the decoded paths' lines classified)."""
    counts = np.bincount(outcome[counted], minlength=len(KERNEL_OUTCOMES))
    line_nos = first_line_no + first + np.arange(len(outcome), dtype=np.int64)

    def line_of(index: int) -> bytes:
        line = first + index
        return data[int(ends[line - 1]) if line else 0 : int(ends[line])]

    rejected = np.flatnonzero(counted & (outcome >= FIRST_REJECTION))
    rejections = _samples(outcome[rejected], KERNEL_OUTCOMES, line_nos[rejected], lambda i: line_of(int(rejected[i])))
    rows = np.flatnonzero(counted & (outcome >= CANDIDATE_HITS.start) & (outcome < CANDIDATE_HITS.stop))
    fields = parsed.fields

    def values(name: str, convert=None) -> Values:
        ids, texts = fields[name].unique(data)
        return Values(ids[rows], [convert(t) for t in texts] if convert else texts)

    def with_decoded(field: Values, decoded_values: list[str | None]) -> Values:
        """The lines of decoded paths take their values from the decoded path."""
        if decoded is None:
            return field
        path_ids = fields["path"].ids[rows]
        escaped = parsed.outcome[rows] == KERNEL_OUTCOMES.index(DECODE_PATH)
        ids = np.where(escaped, path_ids + len(field.values), field.ids).astype(np.int32)
        return Values(ids, field.values + decoded_values)

    client = values("client")  # the kernel's keys are its values' unless escapes made two of them one
    client = client.with_keys(fields["client"].keys if len(client.values) == len(fields["client"].spans) else None)
    if use_forwarded:
        forwarded = values("forwarded_for", forwarded_address)
        offset = len(client.values)
        usable = np.array([value is not None for value in forwarded.values] + [False], dtype=bool)
        ids = np.where(usable[forwarded.ids], forwarded.ids + offset, client.ids).astype(np.int32)
        keys = np.concatenate((client.keys, value_keys(forwarded.values)))
        client = Values(ids, client.values + forwarded.values, keys)
    referrer = values("referrer", escape.unescape) if escape.decodes else values("referrer")
    candidates = Candidates(
        line_no=line_nos[rows],
        kind=(outcome[rows] - CANDIDATE_HITS.start).astype(np.uint8),
        ts_us=parsed.ts_us[rows],
        bytes_sent=parsed.bytes_sent[rows],
        agent=values("agent"),
        project=with_decoded(values("name", canonical_name), decoded.names if decoded else []),
        filename=with_decoded(values("filename"), decoded.filenames if decoded else []),
        path=with_decoded(values("path"), decoded.paths if decoded else []),
        referrer=referrer,
        client=client,
    )
    return ReadLines({KERNEL_OUTCOMES[code]: int(n) for code, n in enumerate(counts.tolist()) if n}, rejections,
                     candidates)


def forwarded_address(forwarded_for: str) -> str | None:
    """The address an X-Forwarded-For header names last, without its port (as classify.client_sql)."""
    match = FORWARDED.match(forwarded_for.split(",")[-1].strip(" "))
    return match[1] if match and match[1] else None


def from_definition(parsed: pa.Table) -> ReadLines:
    """The lines the SQL definition read: `parsed` has line_no, outcome (early outcome, else base
    kind), ts, client, bytes, referrer, logged_agent, path (only where not implied), project,
    filename, line (for samples)."""
    outcome = parsed.column("outcome").to_pylist()
    names = tuple(sorted(set(outcome)))
    codes = np.array([names.index(name) for name in outcome], dtype=np.int32)
    counts = {name: int(n) for name, n in zip(names, np.bincount(codes, minlength=len(names)).tolist()) if n}
    line_nos = arrays.as_numpy(parsed.column("line_no"))
    lines = parsed.column("line").to_pylist()
    rejections = _samples(codes, names, line_nos, lambda i: lines[i].encode())
    rows = np.array([i for i, name in enumerate(outcome) if name in BASE_KINDS], dtype=np.int64)
    table = parsed.take(arrays.numbers(rows, pa.int64()))
    kinds = np.array([BASE_KINDS.index(name) for name in table.column("outcome").to_pylist()], dtype=np.uint8)
    candidates = Candidates(
        line_no=arrays.as_numpy(table.column("line_no")).astype(np.int64),
        kind=kinds,
        ts_us=arrays.as_numpy(table.column("ts").cast(pa.timestamp("us"))),
        bytes_sent=arrays.as_numpy(table.column("bytes").fill_null(-1)).astype(np.int64),
        agent=Values.of(table.column("logged_agent")),
        project=Values.of(table.column("project")),
        filename=Values.of(table.column("filename")),
        path=Values.of(table.column("path")),
        referrer=Values.of(table.column("referrer")),
        client=Values.of(table.column("client")).with_keys(),
    )
    return ReadLines(counts, rejections, candidates)


# Base kind -> the hit kind (store.HIT_KINDS index); an index lookup is a search when its agent is an installer.
HIT_KIND_OF_BASE = np.array([HIT_KINDS.index("search" if kind == "index" else kind) for kind in BASE_KINDS],
                            dtype=np.uint8)
