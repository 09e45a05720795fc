"""Format programs: a format compiled for the C kernel (_kernel.c), and the kernel run over a block.

A program is a short list of steps (a literal, a token, the time, the request,
the status, the bytes, an escaped quoted field, the quoted headers that end a
line, the line's end), compiled from the same LogFormat string as the SQL
pattern (logformat.py); for JSON lines, the mapping's paths and one JSON step
that reads the object (_json.h), compiled from the same mapping as the SQL
(jsonformat.py); for HAProxy's httplog, one step that reads its layout behind
any syslog prefix (formats.REGEX_PRESETS); for S3's server access log, the
steps of its regex (formats.REGEX_PRESETS) and one for its agent, which runs to
the line's last quote; for the header formats, one step over their columns
(w3c.py). The kernel runs it over each line, classifies the line by the rules
of classify.py, and gives each candidate hit's fields as ids of
the distinct values of the block. A line it is not sure of is DEFERRED: the SQL
definition (classify.parse_sql) reads it, so every outcome is the SQL's.

A format whose shape the kernel does not know yet gives no program
(`compile_program` returns None) and is read by the SQL definition alone;
other servers' formats are added here as more steps.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from wheelstats.parsing import _kernel, w3c
from wheelstats.parsing.classify import DIST_SUFFIXES, OTHER_PATH
from wheelstats.parsing.formats import REGEX_PRESETS
from wheelstats.parsing.jsonformat import FIELD_KEYS, JsonField, path_steps
from wheelstats.parsing.logformat import DIRECTIVE, HEADER_FIELDS, QUOTED_HEADERS_TAIL, LogPattern
from wheelstats.parsing.times import CLF

# Steps (as _kernel.c numbers them).
LITERAL, TOKEN, TIME, REQUEST, STATUS, BYTES, QUOTED, TAIL, END, JSON_PATH, JSON, HAPROXY, COLUMNS, TO_LAST_QUOTE = (
    range(1, 15))
# Fields a step can fill.
FIELD_NUMBERS = {None: 0, "client": 1, "referrer": 2, "agent": 3, "forwarded_for": 4}
# The fields of a JSON mapping, as _json.h numbers them (J_TS ...).
JSON_FIELDS = ("ts", "ip", "method", "uri", "request", "status", "bytes", "agent", "referrer", "forwarded_for")
assert set(JSON_FIELDS) == set(FIELD_KEYS)
JSON_MAX_PATHS, JSON_MAX_STEPS = 32, 8  # as _json.h
KEY_STEP, INDEX_STEP = 1, 2
# A header format's columns: their separator, and what a run of columns holds (as _kernel.c numbers them).
COLUMN_SEPARATORS = {"w3c": 0, "cloudfront": 1, "gcs": 2}
COLUMN_CODES = {**{field: number for field, number in FIELD_NUMBERS.items() if field},
                "method": 5, "path": 6, "status": 7, "bytes": 8, "time": 9, "epoch": 10}

# The kernel's outcomes, by number. DEFER: the SQL definition decides. DECODE_PATH: a GET 200 whose path
# holds %-escapes, decoded as the SQL decodes it (classify.decoded_path_sql), then classified (`classify`).
DEFER = "defer"
INDEX = "index"
DECODE_PATH = "decode_path"
KERNEL_OUTCOMES = (
    DEFER, INDEX, "download", "project_page", "json", "page", DECODE_PATH,
    "ignore:malformed_request", "ignore:method", "ignore:status", OTHER_PATH,
    "reject:bad_offset", "reject:implausible_time",
    "reject:empty_line", "reject:line_too_long", "reject:nul_byte", "reject:invalid_utf8", "reject:unparseable",
)
CANDIDATE_HITS = range(1, 6)  # index .. page: hits once the agent is known (an index lookup needs an installer)
FIRST_REJECTION = KERNEL_OUTCOMES.index("reject:bad_offset")
# The distinct values the kernel keeps, in its order.
DISTINCT_FIELDS = ("client", "forwarded_for", "referrer", "agent", "name", "filename", "path")
JSON_TEXTS = ("client", "forwarded_for", "referrer", "agent")  # the fields a JSON program may give escaped


SUFFIXES = tuple(suffix.encode() for suffix in DIST_SUFFIXES)


@dataclass(frozen=True, slots=True)
class Program:
    """A compiled format: the steps' bytes and the distribution-file suffixes that make a download."""

    steps: bytes
    suffixes: tuple[bytes, ...]
    json_strings: bool = False  # its texts are slices of JSON strings, their escapes still in


def defer_everything() -> Program:
    """A program that leaves every line to the SQL definition (the kernel still checks each line's bytes)."""
    return Program(b"", SUFFIXES)


def _step(op: int, *, flag: int = 0, field: str | None = None, payload: bytes = b"") -> bytes:
    return bytes((op, flag, FIELD_NUMBERS[field], len(payload))) + payload


def _literal(text: str) -> bytes:
    data = text.encode()
    return b"".join(_step(LITERAL, payload=data[i : i + 255]) for i in range(0, len(data), 255))


def compile_program(pattern: LogPattern) -> Program | None:
    """The kernel program for `pattern`'s format, or None if the kernel does not know its shape."""
    if pattern.json_fields:
        return _json_program(pattern.json_fields)
    if pattern.regex == REGEX_PRESETS["haproxy"].regex:
        return Program(_step(HAPROXY), SUFFIXES)  # its whole layout is one step
    if pattern.regex == REGEX_PRESETS["s3"].regex:
        return _s3_program()
    if pattern.header_regex is not None:
        return _columns_program(pattern)
    if pattern.logformat is None or pattern.time_style is not CLF:
        return None
    text = pattern.logformat
    tail = QUOTED_HEADERS_TAIL.search(text)
    head = text[: tail.start()] + '"' if tail else text
    steps, position, previous = [], 0, None
    for match in DIRECTIVE.finditer(head):
        literal = head[position : match.start()]
        arg, _, letter = match.groups()
        if literal:
            steps.append(_literal(literal))
        if previous in (TOKEN, BYTES, STATUS) and not literal[:1].isspace():
            return None  # two directives in one run (such as %v:%p): not a shape the kernel knows yet
        quoted = literal.endswith('"')
        step = _directive_step(arg, letter, quoted, pattern)
        if step is None:
            return None
        steps.append(step)
        previous = step[0]
        position = match.end()
    rest = head[position:]
    if previous in (TOKEN, BYTES, STATUS) and rest[:1] and not rest[:1].isspace():
        return None
    steps.append(_literal(rest))
    if tail:
        fields = bytes(FIELD_NUMBERS[field] for field in pattern.tail_fields)
        steps.append(_step(TAIL, payload=fields))
    else:
        steps.append(_step(END))
    return Program(b"".join(steps), SUFFIXES)


def _json_program(mapping: tuple[JsonField, ...]) -> Program | None:
    """A JSON mapping's program: each field's paths in the order they are tried, then the JSON step."""
    steps = []
    for field in mapping:
        for path in field.paths:
            payload = _json_path_payload(path_steps(path))
            if payload is None:
                return None
            steps.append(_step(JSON_PATH, flag=JSON_FIELDS.index(field.key), payload=payload))
    if len(steps) > JSON_MAX_PATHS:
        return None
    steps.append(_step(JSON))
    return Program(b"".join(steps), SUFFIXES, json_strings=True)


def _s3_program() -> Program:
    """S3's server access log, step by step as its regex (formats.REGEX_PRESETS["s3"]) reads it: bucket
    owner, bucket, [time], remote IP, requester, request id, operation, key, "request-URI", status, error
    code, bytes sent, object size, total time, turn-around time, "referer", then "user-agent" up to the
    line's last quote (AWS writes its quotes as they came) and the fields AWS adds over time."""
    word, space = _step(TOKEN, flag=1), _literal(" ")  # \S+, then one space
    steps = [
        word, space, word, space, _step(TIME), space, _step(TOKEN, flag=1, field="client"),
        *[space, word] * 4, _literal(' "'), _step(REQUEST), _literal('" '), _step(STATUS), space, word, space,
        _step(BYTES, flag=1), *[space, word] * 3, _literal(' "'), _step(QUOTED, field="referrer"), _literal('" "'),
        _step(TO_LAST_QUOTE, field="agent"),
    ]
    return Program(b"".join(steps), SUFFIXES)


def _columns_program(pattern: LogPattern) -> Program | None:
    """A header format's program: one step over its columns (the recorded name lists them)."""
    kind, *columns = pattern.name.split(" ")
    header = w3c.HEADER_START[kind].encode()
    codes = b"".join(bytes((COLUMN_CODES["epoch" if kind == "gcs" and field == "time" else field],)) if field
                     else bytes(width)  # skipped columns, one by one
                     for field, width in w3c.column_fields(kind, tuple(columns)))
    payload = bytes((len(header),)) + header + codes
    if len(payload) > 255:
        return None
    return Program(_step(COLUMNS, flag=COLUMN_SEPARATORS[kind], payload=payload), SUFFIXES)


def _json_path_payload(steps: tuple[str | int, ...]) -> bytes | None:
    """A path's steps as _json.h reads them (a key: 1, its length, its bytes; an index: 2, the index),
    None for a path the kernel leaves to the SQL (long, deep, or a key DuckDB's path syntax quotes)."""
    parts = []
    for step in steps:
        if isinstance(step, int):
            if step > 255:
                return None
            parts.append(bytes((INDEX_STEP, step)))
        else:
            key = step.encode()
            if len(key) > 255 or b'"' in key or b"\\" in key:
                return None
            parts.append(bytes((KEY_STEP, len(key))) + key)
    payload = b"".join(parts)
    return payload if len(steps) <= JSON_MAX_STEPS and len(payload) <= 255 else None


def _directive_step(arg: str | None, letter: str, quoted: bool, pattern: LogPattern) -> bytes | None:
    if letter == "%":
        return _literal("%")
    if letter in "ha":
        return None if quoted else _step(TOKEN, flag=1, field="client")
    if letter == "t":
        return None if arg else _step(TIME)
    if letter == "r":
        return _step(REQUEST) if quoted else None
    if letter == "s":
        return _step(STATUS)
    if letter in "bBO":
        return _step(BYTES, flag=1)
    if letter in "IS":
        return _step(BYTES)
    if letter == "i":
        field = HEADER_FIELDS.get((arg or "").lower())
        if quoted:
            return _step(QUOTED, field=field) if pattern.escape.decodes else None
        return _step(TOKEN, field=field)
    if letter in "vV":
        return _step(TOKEN, flag=1)
    if letter in "lupqHDTkLPXRefnoCe":
        if quoted:
            return _step(QUOTED) if pattern.escape.decodes else None
        return _step(TOKEN)
    return None  # %m, %U and the rest: the SQL definition reads them


@dataclass(frozen=True, slots=True)
class Distinct:
    """One field's distinct values in a block: per line an id (-1: none), and each id's bytes."""

    ids: np.ndarray     # int32 per line
    spans: np.ndarray   # (count, 2) int64: offset and length in the block
    json_strings: bool = False  # the bytes are the inside of JSON strings (or a number, true, false)
    keys: np.ndarray | None = None  # the clients': uint64 per id, DuckDB's hash() of its bytes (value_keys)

    def values(self, data: bytes) -> list[str]:
        """Each id's value (a JSON string's escapes undone)."""
        return self._values(data)[0]

    def _values(self, data: bytes) -> tuple[list[str], bool]:
        """Each id's value, and whether any was a JSON string with escapes (undone here)."""
        texts = _kernel.texts(data, np.ascontiguousarray(self.spans, dtype=np.int64))  # a third of a Python loop's time
        escaped = [index for index, text in enumerate(texts) if "\\" in text] if self.json_strings else []
        for index in escaped:
            texts[index] = json.loads('"' + texts[index] + '"')
        return texts, bool(escaped)

    def unique(self, data: bytes) -> tuple[np.ndarray, list[str]]:
        """Per line an id (-1: none) and each id's value, each value once (a JSON string may be
        written two ways)."""
        texts, escaped = self._values(data)
        if not escaped or len(set(texts)) == len(texts):  # distinct bytes without escapes: distinct texts
            return self.ids, texts
        first = {}
        remap = np.array([first.setdefault(text, len(first)) for text in texts] + [-1], dtype=np.int32)
        return remap[self.ids], list(first)

    def lines(self, first: int, stop: int) -> Distinct:
        """Lines [first, stop), with every value (their bytes where they were)."""
        return Distinct(self.ids[first:stop], self.spans, self.json_strings, self.keys)

    @staticmethod
    def joined(before: Distinct, after: Distinct, offset: int) -> Distinct:
        """`before`'s lines then `after`'s, whose bytes are `offset` bytes further on in the data."""
        ids = np.concatenate((before.ids, np.where(after.ids >= 0, after.ids + len(before.spans), -1)))
        spans = np.concatenate((before.spans, after.spans + np.array([offset, 0])))
        keys = None if after.keys is None else np.concatenate((before.keys, after.keys))
        return Distinct(ids.astype(np.int32, copy=False), spans, after.json_strings, keys)


@dataclass(frozen=True, slots=True)
class ParsedLines:
    """What the kernel made of lines [first, stop) of a block."""

    outcome: np.ndarray          # uint8 per line, an index into KERNEL_OUTCOMES
    ts_us: np.ndarray            # int64 UTC microseconds
    bytes_sent: np.ndarray       # int64, -1 when the log has none
    path_implied: np.ndarray     # bool: the path is the one its kind, project and file make
    fields: dict[str, Distinct]  # by DISTINCT_FIELDS

    def lines(self, first: int, stop: int) -> ParsedLines:
        """Lines [first, stop), in the same data."""
        return ParsedLines(self.outcome[first:stop], self.ts_us[first:stop], self.bytes_sent[first:stop],
                           self.path_implied[first:stop],
                           {name: field.lines(first, stop) for name, field in self.fields.items()})

    @staticmethod
    def joined(before: ParsedLines, after: ParsedLines, offset: int) -> ParsedLines:
        """`before`'s lines then `after`'s, whose bytes are `offset` bytes further on in the data."""
        return ParsedLines(
            np.concatenate((before.outcome, after.outcome)), np.concatenate((before.ts_us, after.ts_us)),
            np.concatenate((before.bytes_sent, after.bytes_sent)),
            np.concatenate((before.path_implied, after.path_implied)),
            {name: Distinct.joined(before.fields[name], after.fields[name], offset) for name in DISTINCT_FIELDS})


# The kernel's reading of every line of some data, given its line ends (ingest.writer.BlockWriter.parse).
Parse = Callable[[bytes | bytearray, np.ndarray], ParsedLines]


def count_lines(data: bytes) -> int:
    """The newlines in data (memchr: bytes.count is slower on long lines)."""
    return _kernel.count_lines(data)


def line_ends_and_hashes(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Each line's end (newline included; a last line may lack it) and DuckDB's hash() of its bytes
    (with the newline, also for a last line without one)."""
    room = count_lines(data) + 1
    ends = np.empty(room, dtype=np.int64)
    hashes = np.empty(room, dtype=np.uint64)
    count = _kernel.scan(data, ends, hashes)
    return ends[:count], hashes[:count]


@dataclass(frozen=True, slots=True)
class PathKind:
    """What classify.py's rules make of one (decoded) path."""

    outcome: str            # a base kind, OTHER_PATH, or DEFER (the SQL definition decides)
    name: str | None        # the project as written (not canonical yet)
    filename: str | None
    implied: bool           # the path is the one its kind, project and file make


def classify(path: str) -> PathKind:
    """The kernel's rules over one decoded path, cut at its '?'."""
    data = path.encode()
    outcome, name_start, name_stop, rest_start, rest_stop, implied = _kernel.classify(
        tuple(suffix.encode() for suffix in DIST_SUFFIXES), data)
    return PathKind(
        KERNEL_OUTCOMES[outcome],
        data[name_start:name_stop].decode() if name_start >= 0 else None,
        data[rest_start:rest_stop].decode() if rest_start >= 0 else None,
        bool(implied),
    )


def value_keys(texts: list[str | None]) -> np.ndarray:
    """Each text's key, as the kernel gives a client's: DuckDB's hash() of its UTF-8 bytes (0 for None)."""
    return np.fromiter((0 if text is None else hash_bytes(text.encode()) for text in texts),
                       dtype=np.uint64, count=len(texts))


def hash_bytes(data: bytes) -> int:
    """DuckDB's hash() of `data` as a BLOB."""
    return _kernel.hash_bytes(data)


def parse_lines(
    program: Program, data: bytes, ends: np.ndarray, first: int, stop: int, *, since: int, until: int, max_line: int
) -> ParsedLines:
    """Run `program` over lines [first, stop) of `data` (whose line ends are `ends`). `data` is bytes, or
    any buffer of them, which the kernel reads in place (tests place one against an unreadable page)."""
    raw = data if isinstance(data, (bytes, bytearray)) else memoryview(data).tobytes()
    lines = stop - first
    outcome = np.empty(lines, dtype=np.uint8)
    ts_us = np.empty(lines, dtype=np.int64)
    bytes_sent = np.empty(lines, dtype=np.int64)
    implied = np.empty(lines, dtype=np.uint8)
    ids = [np.empty(lines, dtype=np.int32) for _ in DISTINCT_FIELDS]
    spans = [np.empty((lines, 2), dtype=np.int64) for _ in DISTINCT_FIELDS]
    counts = np.zeros(len(DISTINCT_FIELDS), dtype=np.int32)
    client_keys = np.empty(lines, dtype=np.uint64)
    _kernel.parse(program.steps, program.suffixes, data, np.ascontiguousarray(ends, dtype=np.int64), first, stop,
                  since, until, max_line, b"\0" in raw, not raw.isascii(), outcome, ts_us, bytes_sent, implied, *ids, *spans,
                  counts, client_keys)
    # The spans copied to their counts: a block's parse may wait in a queue, its (lines, 2) arrays let go.
    fields = {name: Distinct(ids[i], spans[i][: counts[i]].copy(), program.json_strings and name in JSON_TEXTS,
                             client_keys[: counts[i]].copy() if name == "client" else None)
              for i, name in enumerate(DISTINCT_FIELDS)}
    return ParsedLines(outcome, ts_us, bytes_sent, implied.view(bool), fields)
