"""The C kernel (parsing/program.py, _kernel.c) against the SQL definition (classify.parse_sql).

The definition is the spec: a line ingested through the kernel must give what it gives
when every line is left to the definition (the writer's program for a format it has no
program for), on every case of tests/data/lines and on generated lines. Malformed input
never crashes the kernel nor makes it read outside its block: every prefix of every case
is read from a buffer against an unreadable page.
"""

from __future__ import annotations

import ctypes
import json
import mmap
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kit import DATA
from wheelstats import store
from wheelstats.ingest import ingest_paths
from wheelstats.ingest import writer as writer_module
from wheelstats.ingest.writer import EPOCH, PLAUSIBLE_AHEAD, PLAUSIBLE_SINCE, definition_sql
from wheelstats.parsing.classify import parse_sql
from wheelstats.parsing.lines import MAX_LINE, split_lines
from wheelstats.parsing.formats import compile_format
from wheelstats.parsing.logformat import compile_log_format
from wheelstats.parsing.program import (
    DECODE_PATH, DEFER, KERNEL_OUTCOMES, ParsedLines, compile_program, parse_lines, value_keys,
)

CASES = [
    pytest.param(case, id=f"{path.stem}: {case['name']}")
    for path in sorted((DATA / "lines").glob("*.yaml"))
    for case in yaml.safe_load(path.read_text())
]
OPTIONS = {"log_format": "format", "escape": "escape", "client_from": "client_from"}
PAGE = mmap.PAGESIZE
LIBC = ctypes.CDLL(None, use_errno=True)


def options_of(case: dict) -> dict[str, str]:
    return {option: case[key] for option, key in OPTIONS.items() if key in case}


def pattern_of(case: dict):
    """The case's log pattern, as ingest_paths compiles it from the same options."""
    return compile_log_format(**{"log_format": "combined", **options_of(case)})


def stored(tmp: Path, data: bytes, *, by_definition: bool, monkeypatch: pytest.MonkeyPatch, **options):
    """Ingest `data` into a new store, through the kernel or with every line left to the definition;
    what the store then holds, ids replaced by what they stand for."""
    log = tmp / ("definition.log" if by_definition else "kernel.log")
    log.write_bytes(data)
    con = store.connect(tmp / f"{log.stem}.duckdb")
    with monkeypatch.context() as patch:
        if by_definition:
            patch.setattr(writer_module, "compile_program", lambda pattern: None)
        [report] = ingest_paths(con, [log], ip_mode="raw", **options)
    hits = con.execute(
        "SELECT h.* EXCLUDE (agent_id, source_id), a.agent FROM hits h LEFT JOIN agents a USING (agent_id) "
        "ORDER BY line_no").fetchall()
    samples = con.execute("SELECT reason, line_no, line FROM reject_samples ORDER BY line_no").fetchall()
    con.close()
    return (dict(report.hits), dict(report.ignored), dict(report.rejected)), hits, samples


@pytest.mark.parametrize("case", CASES)
def test_each_case_reads_as_the_definition_reads_it(tmp_path, monkeypatch, case):
    data = case["line"].encode() + b"\n"
    through_kernel = stored(tmp_path, data, by_definition=False, monkeypatch=monkeypatch, **options_of(case))
    through_definition = stored(tmp_path, data, by_definition=True, monkeypatch=monkeypatch, **options_of(case))
    assert through_kernel == through_definition


def test_the_kernel_decides_the_sample_log_itself(tmp_path):
    """Deferring every line would pass the comparisons above: the sample log's lines are the kernel's own."""
    from wheelstats.simulate import sample_log

    log = tmp_path / "sample.log"
    sample_log(log, 5000, seed=3)
    data = log.read_bytes()
    program = compile_program(compile_log_format("combined"))
    assert program is not None
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10).astype(np.int64) + 1
    parsed = parse_lines(program, data, ends, 0, len(ends), since=0, until=2**40, max_line=MAX_LINE)
    deferred = int((parsed.outcome == KERNEL_OUTCOMES.index(DEFER)).sum())
    assert deferred <= len(ends) // 100, f"{deferred} of {len(ends)} lines left to the definition"


def test_lines_read_in_two_parts_and_joined_read_as_the_whole(tmp_path):
    """Ingest reads each block's lines ahead, on the reading thread, and joins the lines held back from the
    block before (read again) to them: line by line the same outcomes, times, sizes and values as the whole
    read at once, and a slice of them is those lines'."""
    from wheelstats.simulate import sample_log

    log = tmp_path / "sample.log"
    sample_log(log, 3000, seed=5)
    data = log.read_bytes()
    program = compile_program(compile_log_format("combined"))
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10).astype(np.int64) + 1
    read = partial(parse_lines, program, since=0, until=2**40, max_line=MAX_LINE)
    whole = read(data, ends, 0, len(ends))
    split = 1234
    before, after = data[: ends[split - 1]], bytearray(data[ends[split - 1]:])
    joined = ParsedLines.joined(read(before, ends[:split], 0, split),
                                read(after, ends[split:] - ends[split - 1], 0, len(ends) - split), len(before))

    def per_line(parsed):
        values = {name: field.values(data) + [None] for name, field in parsed.fields.items()}
        return (parsed.outcome.tolist(), parsed.ts_us.tolist(), parsed.bytes_sent.tolist(),
                parsed.path_implied.tolist(),
                {name: [values[name][i] for i in field.ids.tolist()] for name, field in parsed.fields.items()})

    assert per_line(joined) == per_line(whole)
    assert len(set(per_line(whole)[4]["client"])) > 100  # values shared across the split, and many
    assert per_line(joined.lines(1000, 2000)) == per_line(whole.lines(1000, 2000))
    client_keys = {name: dict(zip(field.values(data), field.keys.tolist()))
                    for name, field in (("whole", whole.fields["client"]), ("joined", joined.fields["client"]))}
    assert client_keys["joined"] == client_keys["whole"]


def test_a_clients_key_is_duckdbs_hash_of_its_address_a_long_one_whole():
    """The kernel gives each distinct client of a block its key, by which ingest finds the clients it has seen
    (ingest.resolve): DuckDB's hash() of the address, whole even where the block's own set of values hashes a
    long value by a few of its words, and what program.value_keys gives the address read another way."""
    import duckdb

    line = '{} - - [10/Nov/2025:10:00:00 +0000] "GET /simple/numpy/ HTTP/1.1" 200 512 "-" "pip/23.0"\n'
    # 98 bytes alike but for the one in the middle, which the set's hash of a long value does not read
    long_a, long_b = ("host-" + "a" * 40 + middle + "a" * 40 + ".example.org" for middle in "xy")
    clients = ["10.0.0.1", "2001:db8::1", long_a, long_b, "10.0.0.1"]
    data = "".join(line.format(client) for client in clients).encode()
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10).astype(np.int64) + 1
    parsed = parse_lines(compile_program(compile_log_format("combined")), data, ends, 0, len(ends),
                         since=0, until=2**40, max_line=MAX_LINE)
    field = parsed.fields["client"]
    assert field.values(data) == clients[:4]
    expected = [duckdb.sql("SELECT hash(?)", params=[client]).fetchall()[0][0] for client in clients[:4]]
    assert field.keys.tolist() == expected == value_keys(clients[:4]).tolist()
    assert len(set(expected)) == 4


@given(st.lists(st.text(max_size=20), max_size=30), st.binary(max_size=8))
def test_a_fields_values_are_the_utf8_texts_of_its_spans_in_the_block(texts, filler):
    """The kernel turns a block's distinct values into text (`Distinct.values`): each span of the block, decoded
    as UTF-8, whatever it holds; a span past the block's end, or bytes that are not UTF-8, raise as decoding
    them in Python would."""
    from wheelstats.parsing import _kernel

    encoded = [text.encode() for text in texts]
    block = bytearray(filler)
    spans = []
    for value in encoded:
        spans.append((len(block), len(value)))
        block += value + filler
    spans = np.array(spans, dtype=np.int64).reshape(-1, 2)
    assert _kernel.texts(block, spans) == texts == [bytes(block[o : o + n]).decode() for o, n in spans.tolist()]
    with pytest.raises(ValueError, match="past the data"):
        _kernel.texts(block, np.array([[len(block), 1]], dtype=np.int64))
    with pytest.raises(UnicodeDecodeError):
        _kernel.texts(block + b"\xff", np.array([[len(block), 1]], dtype=np.int64))


# -- generated lines ---------------------------------------------------------------

tokens = st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters='"\\'), min_size=1, max_size=12)
quoted = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=40).map(
    lambda text: text.replace("\\", "\\\\").replace('"', '\\"'))
projects = st.sampled_from(["numpy", "Pillow", "ruamel.yaml", "zope_interface", "a", "x--y"])
paths = st.one_of(
    projects.map(lambda p: f"/simple/{p}/"),
    projects.map(lambda p: f"/simple/{p}/{p}-1.0-py3-none-any.whl"),
    projects.map(lambda p: f"/simple/{p}/{p}-1.0.tar.gz?sha=1"),
    projects.map(lambda p: f"/project/{p}/"),
    projects.map(lambda p: f"/project/{p}/json"),
    projects.map(lambda p: f"/simple/{p.replace('a', '%61')}/"),
    st.sampled_from(["/", "/index.html", "/faq.html", "/robots.txt", "/simple/", "//simple/x/", "/simple/x"]),
    tokens.map(lambda t: "/" + t),
)
agents = st.one_of(
    st.sampled_from([
        'pip/24.0 {"installer":{"name":"pip","version":"24.0"},"python":"3.11.2","cpu":"aarch64"}',
        "pip/1.5.6 CPython/2.7.9 Linux/4.9.35-v7+",
        "Mozilla/5.0 (X11; Linux armv7l)",
        "uv/0.4.0",
        "-",
    ]),
    quoted,
)
times = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2030, 12, 31))
offsets = st.sampled_from(["+0000", "+0100", "-0530", "+1400", "+1500", "-9999", "0000", "+00"])


@st.composite
def combined_lines(draw) -> str:
    client = draw(st.one_of(st.sampled_from(["10.0.0.1", "2001:db8::1", "-"]), tokens))
    when = draw(times).strftime("%d/%b/%Y:%H:%M:%S")
    method = draw(st.sampled_from(["GET", "GET", "GET", "HEAD", "POST", "get", ""]))
    request = draw(st.one_of(
        paths.map(lambda path: f"{method} {path} HTTP/1.1"), paths.map(lambda path: f"{method} {path}"), quoted))
    status = draw(st.sampled_from(["200", "200", "304", "404", "500", "2000", "-", "abc"]))
    size = draw(st.sampled_from(["-", "0", "1234", "99999999999", "12a"]))
    referrer = draw(st.one_of(st.just("-"), quoted))
    agent = draw(agents)
    line = f'{client} - - [{when} {draw(offsets)}] "{request}" {status} {size} "{referrer}" "{agent}"'
    cut = draw(st.one_of(st.none(), st.integers(0, len(line))))
    return line if cut is None else line[:cut]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(combined_lines(), min_size=1, max_size=12), padding=st.integers(0, 30))
def test_generated_lines_read_as_the_definition_reads_them(tmp_path_factory, monkeypatch, lines, padding):
    """Enough good lines after them that the log is not refused as another format."""
    tmp = tmp_path_factory.mktemp("generated")
    good = '10.0.0.9 - - [17/Nov/2025:10:00:00 +0000] "GET /simple/numpy/ HTTP/1.1" 200 900 "-" "pip/1.5.6"'
    data = "".join(line + "\n" for line in [*lines, *[good] * (padding + 2 * len(lines))]).encode()
    through_kernel = stored(tmp, data, by_definition=False, monkeypatch=monkeypatch)
    through_definition = stored(tmp, data, by_definition=True, monkeypatch=monkeypatch)
    assert through_kernel == through_definition


# -- every prefix, against an unreadable page --------------------------------------

def guarded(data: bytes, *, against: str) -> tuple[mmap.mmap, memoryview, memoryview]:
    """`data` in memory whose next page (`against="end"`) or previous page ("start") cannot be read."""
    pages = (len(data) + PAGE - 1) // PAGE or 1
    memory = mmap.mmap(-1, (pages + 2) * PAGE)
    start = PAGE if against == "start" else (pages + 1) * PAGE - len(data)
    memory[start : start + len(data)] = data
    anchor = ctypes.c_char.from_buffer(memory)
    base = ctypes.addressof(anchor)
    for page in (base, base + (pages + 1) * PAGE):
        assert LIBC.mprotect(ctypes.c_void_p(page), PAGE, 0) == 0, ctypes.get_errno()
    del anchor
    whole = memoryview(memory)
    return memory, whole, whole[start : start + len(data)]


def definition_outcomes(lines: list[bytes], pattern) -> list[str]:
    """Each line's outcome as split_lines and the definition give it (an index lookup as 'index')."""
    until = datetime.now(UTC).replace(tzinfo=None) + PLAUSIBLE_AHEAD
    outcomes = {}
    readable = {}
    for number, line in enumerate(lines, 1):
        rejected = split_lines(line, number).rejections
        if rejected:
            outcomes[number] = f"reject:{rejected[0].reason}"
        else:
            readable[number] = line.decode()
    con = store.connect(":memory:")
    con.register("batch_lines", pa.table({"line_no": list(readable), "line": list(readable.values())}))
    for number, outcome in con.execute(
        f"SELECT line_no, outcome FROM ({definition_sql(parse_sql(pattern), PLAUSIBLE_SINCE, until)})"
    ).fetchall():
        outcomes[number] = "index" if outcome == "search" else outcome
    con.close()
    return [outcomes[number] for number in range(1, len(lines) + 1)]


# The cases whose format the kernel has a program for (the definition reads every line of the others).
PROGRAM_CASES = [case for case in CASES if compile_program(pattern_of(case.values[0]))]


def test_most_cases_have_a_kernel_program():
    assert len(PROGRAM_CASES) >= len(CASES) * 3 // 4


def kernel_outcomes_of_prefixes(pattern, line: bytes) -> list[str]:
    """The kernel's outcome of every prefix of `line`, each read from a buffer against an unreadable
    page (after it, then before it), checked against the definition's where the kernel decides."""
    program = compile_program(pattern)
    prefixes = [line[:cut] for cut in range(1, len(line) + 1)]
    until = int((datetime.now(UTC).replace(tzinfo=None) + PLAUSIBLE_AHEAD - EPOCH).total_seconds())
    since = int((PLAUSIBLE_SINCE - EPOCH).total_seconds())
    expected = definition_outcomes(prefixes, pattern)
    outcomes = []
    for prefix, outcome in zip(prefixes, expected):
        for against in ("end", "start"):
            memory, whole, view = guarded(prefix, against=against)
            parsed = parse_lines(program, view, np.array([len(prefix)], dtype=np.int64), 0, 1,
                                 since=since, until=until, max_line=MAX_LINE)
            view.release()
            whole.release()
            memory.close()
            kernel = KERNEL_OUTCOMES[parsed.outcome[0]]
            if kernel not in (DEFER, DECODE_PATH):
                assert kernel == outcome, prefix
        outcomes.append(kernel)
    return outcomes


@pytest.mark.parametrize("case", PROGRAM_CASES)
def test_every_prefix_of_a_case_reads_inside_its_bytes_as_the_definition_does(case):
    kernel_outcomes_of_prefixes(pattern_of(case), case["line"].encode())


# -- JSON lines --------------------------------------------------------------------

PIP_AGENT = ('pip/24.0 {"ci":null,"cpu":"x86_64","distro":{"name":"Debian GNU/Linux","version":"12"},'
             '"installer":{"name":"pip","version":"24.0"},"python":"3.11.2","system":{"name":"Linux"}}')
WHEEL_PATH = "/simple/numpy/numpy-2.1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
# A mapping of every kind of path: header arrays, a key in brackets, alternatives, a request line.
CUSTOM_FIELDS = ("ts=when.epoch|when.iso", "ip=peer.addr", 'agent=hdrs["User-Agent"][0]|ua',
                 'referrer=hdrs["Referer"][1]', "request=req", "status=resp.code", "bytes=resp.size",
                 "forwarded_for=hdrs.xff[0]")
# Paths that share their first steps (matched once for all), two indexes of one array.
SHARED_FIELDS = ("ts=r.t", "ip=r.c", "method=r.m", "uri=r.u", "status=r.s", "bytes=r.b", "agent=r.h.a[0]|r.h.ua",
                 'referrer=r.h["x"][0]', "forwarded_for=r.h.a[1]")
JSON_FORMATS = {
    "caddy": {}, "traefik": {}, "cloudflare": {}, "fastly": {}, "nginx_json": {},
    "custom": {"log_format": "json", "fields": CUSTOM_FIELDS},
    "shared": {"log_format": "json", "fields": SHARED_FIELDS},
    "caddy behind a proxy": {"log_format": "caddy", "client_from": "x-forwarded-for"},
}


def json_mapping(name: str):
    options = JSON_FORMATS[name]
    return compile_format(options.get("log_format", name), fields=options.get("fields", ())).json_fields


def put(record: dict, steps: tuple, value) -> None:
    """Set `value` at `steps` (keys and indexes) in `record`, making the objects and arrays on the way."""
    *parents, last = steps
    here = record
    for step, after in zip(parents, [*parents[1:], last]):
        empty = [] if isinstance(after, int) else {}
        if isinstance(step, int):
            while len(here) <= step:
                here.append(None)
            if here[step] is None:
                here[step] = empty
        else:
            here.setdefault(step, empty)
        here = here[step]
    if isinstance(last, int):
        while len(here) <= last:
            here.append("-")
        here[last] = value
    else:
        here[last] = value


GOOD = {"ts": 1772704801.25, "ip": "192.0.2.10", "method": "GET", "uri": "/simple/numpy/", "status": 200,
        "bytes": 5120, "agent": PIP_AGENT, "referrer": "https://example.org/caf\u00e9?q=1", "forwarded_for": "203.0.113.9"}
MISSING = object()


def json_record(name: str, path_choice: int = 0, **values) -> dict:
    """A record of format `name` holding `values` by key (GOOD's otherwise; MISSING: not there), each
    at its field's first path (or its `path_choice`th)."""
    from wheelstats.parsing.jsonformat import path_steps

    mapping = {field.key: field for field in json_mapping(name)}
    wanted = {**GOOD, **values}
    if "uri" not in mapping and "request" not in values:
        method, uri = wanted.pop("method"), wanted.pop("uri")
        if method is not MISSING and uri is not MISSING:
            wanted["request"] = f"{method} {uri} HTTP/1.1"
    record: dict = {}
    for key, value in wanted.items():
        if key in mapping and value is not MISSING:
            paths = mapping[key].paths
            put(record, path_steps(paths[min(path_choice, len(paths) - 1)]), value)
    return record


def json_line_cases(name: str) -> list[str]:
    """Lines of every case the SQL definition reads, for format `name`."""
    dumps = json.dumps
    records = [
        {}, {"uri": WHEEL_PATH}, {"uri": "/project/numpy/"}, {"uri": "/"}, {"uri": "/faq.html"}, {"uri": "/robots.txt"},
        {"uri": "/simple/Django_Rest/"}, {"uri": "/simple/numpy/?x=1"}, {"uri": "/simple/caf%C3%A9/"},
        {"uri": "/simple/caf\u00e9/"}, {"uri": "http://index.example/simple/numpy/"}, {"uri": ""}, {"uri": None},
        {"uri": MISSING}, {"uri": 5}, {"uri": "/simple/a b/"},
        {"method": "POST"}, {"method": "get"}, {"method": ""}, {"method": MISSING}, {"method": None}, {"method": 1},
        {"status": 404}, {"status": "200"}, {"status": "404"}, {"status": 200.0}, {"status": 2000}, {"status": ""},
        {"status": None}, {"status": MISSING}, {"status": "abc"}, {"status": True},
        {"bytes": "12"}, {"bytes": ""}, {"bytes": "-"}, {"bytes": None}, {"bytes": MISSING}, {"bytes": 12.5},
        {"bytes": -1}, {"bytes": "abc"}, {"bytes": 1e3}, {"bytes": 10**20}, {"bytes": 0}, {"bytes": "007"},
        {"agent": "-"}, {"agent": ""}, {"agent": None}, {"agent": MISSING}, {"agent": 5}, {"agent": True},
        {"agent": {"a": 1}}, {"agent": ["x"]}, {"agent": "Mozilla/5.0 caf\u00e9 \u2603"}, {"agent": "a\\b\tc"},
        {"agent": "uv/0.4.18 \U0001f600"}, {"agent": 1.5}, {"agent": -3},
        {"referrer": "-"}, {"referrer": ""}, {"referrer": None}, {"referrer": 'say "hi"'},
        {"ip": ""}, {"ip": None}, {"ip": MISSING}, {"ip": "-"}, {"ip": 17}, {"ip": "2001:db8::7"},
        {"forwarded_for": "198.51.100.1, 203.0.113.7:4711"}, {"forwarded_for": ""}, {"forwarded_for": None},
        {"ts": 1772704801}, {"ts": 1772704801250}, {"ts": 1772704801250000}, {"ts": 1772704801250000000},
        {"ts": 1772704801.1234567}, {"ts": 1772704801.9999996}, {"ts": "1772704801"}, {"ts": "1772704801.5"},
        {"ts": "2026-03-05T10:00:01Z"}, {"ts": "2026-03-05T10:00:01.123456789Z"}, {"ts": "2026-03-05T10:00:01+01:00"},
        {"ts": "2026-03-05T10:00:01-0530"}, {"ts": "2026-03-05T10:00:01+1500"}, {"ts": "2026-03-05T10:00:01+15:00"},
        {"ts": "2026-03-05T10:00:01"}, {"ts": "2026-03-05 10:00:01Z"}, {"ts": "2026-02-29T10:00:01Z"},
        {"ts": "2026-03-05T24:00:00Z"}, {"ts": "05/Mar/2026:10:00:01 +0000"}, {"ts": ""}, {"ts": None},
        {"ts": MISSING}, {"ts": -5}, {"ts": 1.772704801e9}, {"ts": 99999999999999999999}, {"ts": 788918399},
        {"ts": 4102444800}, {"ts": True}, {"ts": "1994-12-31T23:59:59.5Z"},
    ]
    lines = [dumps(json_record(name, **values)) for values in records]
    good = json_record(name)
    lines += [
        dumps(json_record(name, 1)),  # the second path of every field with alternatives
        dumps(json_record(name, ip=None) | {}),
        dumps(good, ensure_ascii=False), dumps(good, indent=1).replace("\n", " "), dumps(good, separators=(",", ":")),
        dumps(dict(reversed(list(good.items())))), dumps({"extra": [1, {"x": [None, True]}], **good, "z": -0.5e-3}),
        dumps(good) + "\r", dumps(good).replace("/", "\\/"), dumps(good).replace("numpy", "nump\\u0079"),
        dumps(good)[:-1] + ", " + dumps(good)[1:],  # every key twice
        dumps(good)[:-1] + ",}", dumps(good)[:-1] + ', "n": NaN}', dumps(good) + " x", "[" + dumps(good) + "]",
        dumps(good)[:-1], "{}", "", "not json", '{"a": "\x01"}', dumps(good).replace('{"', '{"\\u0061', 1),
        dumps({"wrap": good}), dumps(good).replace("\\\"", "\\u0022"), dumps(good)[:-1] + ', "v": "\\ud800"}',
        dumps(json_record(name, uri=WHEEL_PATH, agent="-", referrer="-")).replace('"-"', '"\\u002d"'),
    ]
    return lines


def assert_read_as_the_definition_reads_it(tmp: Path, data: bytes, monkeypatch, **options) -> None:
    through_kernel = stored(tmp, data, by_definition=False, monkeypatch=monkeypatch, **options)
    through_definition = stored(tmp, data, by_definition=True, monkeypatch=monkeypatch, **options)
    assert through_kernel == through_definition


def log_of(lines: list[str], good: str) -> bytes:
    """`lines`, then enough `good` lines that the log is not refused as another format."""
    return "".join(line + "\n" for line in [*lines, *[good] * (len(lines) + 10)]).encode()


def assert_json_lines_read_as_the_definition_reads_them(tmp: Path, name: str, lines: list[str], monkeypatch):
    data = log_of(lines, json.dumps(json_record(name)))
    assert_read_as_the_definition_reads_it(tmp, data, monkeypatch, **{"log_format": name, **JSON_FORMATS[name]})


@pytest.mark.parametrize("name", JSON_FORMATS)
def test_json_lines_read_as_the_definition_reads_them(tmp_path, monkeypatch, name):
    assert_json_lines_read_as_the_definition_reads_them(tmp_path, name, json_line_cases(name), monkeypatch)


def kernel_outcomes(pattern, lines: list[bytes]) -> list[str]:
    program = compile_program(pattern)
    data = b"".join(line + b"\n" for line in lines)
    ends = np.cumsum([len(line) + 1 for line in lines]).astype(np.int64)
    parsed = parse_lines(program, data, ends, 0, len(ends), since=0, until=2**40, max_line=MAX_LINE)
    return [KERNEL_OUTCOMES[code] for code in parsed.outcome]


@pytest.mark.parametrize("name", JSON_FORMATS)
def test_the_kernel_decides_json_lines_as_servers_write_them(name):
    """Deferring every line would pass the comparisons: the servers' own lines (escaped agents, non-ASCII,
    their times) are the kernel's, and so are most of the cases."""
    options = JSON_FORMATS[name]
    pattern = compile_format(options.get("log_format", name), fields=options.get("fields", ()))
    written = [json_record(name, **values) for values in (
        {}, {"uri": WHEEL_PATH}, {"agent": "Mozilla/5.0 caf\u00e9"}, {"referrer": "-"}, {"status": 404},
        {"ts": 1772704801250000000}, {"ts": "2026-03-05T10:00:01.123456789Z"}, {"ts": "2026-03-05T10:00:01+01:00"},
    )]
    lines = [json.dumps(record, ensure_ascii=ascii).encode() for record in written for ascii in (True, False)]
    assert DEFER not in kernel_outcomes(pattern, lines)
    cases = kernel_outcomes(pattern, [line.encode() for line in json_line_cases(name)])
    assert cases.count(DEFER) < len(cases) // 2


@pytest.mark.parametrize("name", ["caddy", "nginx_json", "custom", "shared"])
def test_every_prefix_of_a_json_line_reads_inside_its_bytes_as_the_definition_does(name):
    options = JSON_FORMATS[name]
    pattern = compile_format(options.get("log_format", name), fields=options.get("fields", ()))
    outcomes = kernel_outcomes_of_prefixes(pattern, json.dumps(json_record(name, referrer='say "hi" caf\u00e9')).encode())
    assert outcomes[-1] not in (DEFER, DECODE_PATH)  # the whole line is the kernel's


json_texts = st.text(st.characters(min_codepoint=1, max_codepoint=0x2FFF), max_size=12)
json_values = st.one_of(
    st.none(), json_texts, st.sampled_from(["-", "", "GET", "/simple/numpy/", "200", "\\", '"', "caf\u00e9"]),
    st.integers(-5, 2**63), st.floats(allow_nan=False, allow_infinity=False), st.booleans(),
    st.lists(json_texts, max_size=2), st.dictionaries(json_texts, json_texts, max_size=2),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(list(JSON_FORMATS)),
       changes=st.lists(st.tuples(st.sampled_from([*GOOD, "request"]), st.one_of(st.just(MISSING), json_values)),
                        max_size=4),
       shuffle=st.randoms(use_true_random=False), ascii=st.booleans())
def test_generated_json_lines_read_as_the_definition_reads_them(tmp_path_factory, monkeypatch, name, changes,
                                                                 shuffle, ascii):
    tmp = tmp_path_factory.mktemp("generated-json")
    record = json_record(name, **dict(changes))
    items = list(record.items())
    shuffle.shuffle(items)
    assert_json_lines_read_as_the_definition_reads_them(tmp, name, [json.dumps(dict(items), ensure_ascii=ascii)],
                                                         monkeypatch)


# -- HAProxy's httplog -------------------------------------------------------------

HAPROXY_PREFIXES = [
    "", "<134>", "<134>Mar  5 10:00:01 ", "<134>Mar  5 10:00:01 haproxy[4242]: ", "Mar  5 10:00:01 index haproxy[4242]: ",
    "2026-03-05T10:00:01.250311+00:00 index haproxy[4242]: ", "<134>1 2026-03-05T10:00:01.250311+00:00 index haproxy 4242 - - ",
    "<x>", "<134", "Mar  5 10:00:01 host:123 [x] a b c 200 1 a b c d e ", "  ", "a\tb ",
    # a message of its own up to the real one, whose fields its captured headers swallow: the first reading wins
    "h:1 [05/Mar/2026:10:00:01.250] a b c 200 1 a b c d e { ", "h:1 [05/mar/2026:10:00:01.250] a b c 200 1 a b c d e { ",
]
HAPROXY_PARTS = {
    "client": ["192.0.2.7:50123", "[2001:db8::7]:50123", "2001:db8::7:443", "192.0.2.7", "192.0.2.7:", ":80", "a:b:1x"],
    "time": ["05/Mar/2026:10:00:01.250", "05/Mar/2026:10:00:01", "05/Mar/2026:10:00:01.25", "32/Mar/2026:10:00:01.250",
             "05/mar/2026:10:00:01.250", "05/Mar/1990:10:00:01.250", "5/Mar/2026:10:00:01.250", "05/Mar/2026:10:00:01.250 x"],
    "status": ["200", "404", "20", "2000"],
    "bytes": ["5120", "+5120", "0", "99999999999999999999", "-", "12a"],
    "captures": [" {" + "".join(f"#{ord(c):02X}" if c in '#"{|}' else c for c in PIP_AGENT) + "|}",
                 " {pip/24.0|https://x.example/a b}",
                 " {Mozilla/5.0 (X11)|https://x.example/caf#C3#A9}", " {pip/24.0}", " {|}", " {-|-}", " {a|b|c}",
                 " {a|b} {text/html}", " {a|b} {text/html", " {a|b", "", " {a} {b} {c}", ' {say "hi"|x}', "  {a|b}"],
    "request": ['"GET /simple/numpy/numpy-2.1.0-py3-none-any.whl HTTP/1.1"', '"GET /simple/numpy/ HTTP/1.1"',
                '"GET /simple/Django_Rest/"', '"POST /simple/numpy/ HTTP/1.1"', '"<BADREQ>"', '"get /simple/x/ HTTP/1.1"',
                '"GET http://index.example/simple/numpy/ HTTP/1.1"', '"GET /simple/caf%C3%A9/?x=1 HTTP/1.1"',
                '"GET /project/numpy/ HTTP/1.1" x', '"GET /simple/numpy/ HTTP/1.1"\r', '"GET  /simple/numpy/ HTTP/1.1"',
                '"GET /a"b" HTTP/1.1"', '"GET /"'],
}


def haproxy_line(prefix: str = "", **parts: str) -> str:
    p = {name: values[0] for name, values in HAPROXY_PARTS.items()} | parts
    return (f"{prefix}{p['client']} [{p['time']}] web~ pypi/s1 0/0/1/2/3 {p['status']} {p['bytes']} - - ---- "
            f"1/1/0/0/0 0/0{p['captures']} {p['request']}")


def haproxy_line_cases() -> list[str]:
    lines = [haproxy_line(prefix) for prefix in HAPROXY_PREFIXES]
    lines += [haproxy_line(**{name: value}) for name, values in HAPROXY_PARTS.items() for value in values[1:]]
    lines += [haproxy_line(prefix, captures=captures) for prefix in HAPROXY_PREFIXES[2:5]
              for captures in HAPROXY_PARTS["captures"][4:9]]
    lines += ["", "not haproxy", haproxy_line().replace(" ", "  ", 3), haproxy_line().replace("0/0 ", "0/0  ")]
    return lines


def test_haproxy_lines_read_as_the_definition_reads_them(tmp_path, monkeypatch):
    data = log_of(haproxy_line_cases(), haproxy_line())
    assert_read_as_the_definition_reads_it(tmp_path, data, monkeypatch, log_format="haproxy")


def test_the_kernel_decides_haproxy_lines_behind_every_prefix():
    pattern = compile_format("haproxy")
    written = [haproxy_line(prefix, **parts) for prefix in HAPROXY_PREFIXES[:7] for parts in (
        {}, {"captures": HAPROXY_PARTS["captures"][1]}, {"captures": ""}, {"request": HAPROXY_PARTS["request"][1]},
        {"status": "404"}, {"client": "[2001:db8::7]:50123"})]
    assert DEFER not in kernel_outcomes(pattern, [line.encode() for line in written])
    cases = kernel_outcomes(pattern, [line.encode() for line in haproxy_line_cases()])
    assert cases.count(DEFER) < len(cases) // 2


@pytest.mark.parametrize("prefix", HAPROXY_PREFIXES[:7])
def test_every_prefix_of_a_haproxy_line_reads_inside_its_bytes_as_the_definition_does(prefix):
    pattern = compile_format("haproxy")
    outcomes = kernel_outcomes_of_prefixes(pattern, haproxy_line(prefix).encode())
    assert outcomes[-1] not in (DEFER, DECODE_PATH)  # the whole line is the kernel's


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=st.sampled_from(HAPROXY_PREFIXES),
       parts=st.fixed_dictionaries({name: st.sampled_from(values) for name, values in HAPROXY_PARTS.items()}))
def test_generated_haproxy_lines_read_as_the_definition_reads_them(tmp_path_factory, monkeypatch, prefix, parts):
    tmp = tmp_path_factory.mktemp("generated-haproxy")
    lines = [haproxy_line(prefix, **parts), haproxy_line(prefix)]
    data = "".join(line + "\n" for line in [*lines, *[haproxy_line()] * 12]).encode()
    assert_read_as_the_definition_reads_it(tmp, data, monkeypatch, log_format="haproxy")


# -- header formats: W3C (IIS), CloudFront, Cloud Storage --------------------------

HEADER_COLUMNS = {
    "w3c": ("date time s-ip cs-method cs-uri-stem cs-uri-query s-port c-ip cs(User-Agent) cs(Referer) sc-status "
            "sc-substatus sc-bytes time-taken").split(),
    "cloudfront": ("date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) "
                   "cs(User-Agent) cs-uri-query x-forwarded-for x-edge-result-type").split(),
    "gcs": ("time_micros c_ip c_ip_type cs_method cs_uri sc_status cs_bytes sc_bytes time_taken_micros cs_host "
            "cs_referer cs_user_agent s_request_id cs_operation cs_bucket cs_object").split(),
}
HEADER_DEFAULTS = {
    "date": "2026-03-05", "time": "10:00:01", "c-ip": "192.0.2.7", "cs-method": "GET", "cs-uri-stem": WHEEL_PATH,
    "sc-status": "200", "sc-bytes": "5120", "cs(User-Agent)": "pip/1.5.6+CPython/2.7.9+Linux/4.9.35-v7%2B",
    "cs(Referer)": "-", "x-forwarded-for": "-", "time_micros": "1772704801250000", "c_ip": "192.0.2.7",
    "cs_method": "GET", "cs_uri": WHEEL_PATH, "sc_status": "200", "sc_bytes": "5120", "cs_referer": "",
    "cs_user_agent": PIP_AGENT,
}
HEADER_VARIANTS = [
    {}, {"cs-uri-stem": "/simple/numpy/", "cs_uri": "/simple/numpy/"}, {"cs-method": "POST", "cs_method": "POST"},
    {"cs-method": "", "cs_method": ""}, {"cs-method": "get", "cs_method": "get"},
    {"sc-status": "404", "sc_status": "404"}, {"sc-status": "20", "sc_status": "20"}, {"sc-status": "-", "sc_status": ""},
    {"sc-bytes": "-", "sc_bytes": ""}, {"sc-bytes": "", "sc_bytes": "-"}, {"sc-bytes": "12a", "sc_bytes": "12a"},
    {"sc-bytes": "99999999999999999999", "sc_bytes": "99999999999999999999"},
    {"time": "10:00:01.5"}, {"date": "2026-02-29"}, {"time": "24:00:00"}, {"date": "05/03/2026"}, {"time": ""},
    {"time": "10:00:01+15:00"}, {"date": "1990-01-01"}, {"time_micros": "1772704801"}, {"time_micros": "abc"},
    {"time_micros": "1772704801.5"}, {"time_micros": ""}, {"time_micros": "17727048012500001234"},
    {"cs(User-Agent)": "-", "cs_user_agent": ""}, {"cs(User-Agent)": "a%22b%20c", "cs_user_agent": 'say "hi"'},
    {"cs(Referer)": "https://x.example/a+b%20c", "cs_referer": "https://x.example/a b"},
    {"cs(Referer)": "%E2%98%83%ZZ%C3", "cs_referer": 'caf\u00e9 "x"'}, {"cs(Referer)": "caf\u00e9+%C3%A9"},
    {"c-ip": "-", "c_ip": ""}, {"c-ip": "2001:db8::7", "c_ip": "-"},
    {"cs-uri-stem": "/simple/caf%C3%A9/", "cs_uri": "/simple/caf%C3%A9/"},
    {"cs-uri-stem": "http://index.example/simple/numpy/", "cs_uri": "https://storage.googleapis.com/simple/numpy/"},
    {"cs-uri-stem": "/simple/numpy/?x=1", "cs_uri": "/simple/numpy/?x=1"}, {"cs-uri-stem": "/", "cs_uri": "/faq.html"},
    {"x-forwarded-for": "198.51.100.1, 203.0.113.7"},
]


def header_row(kind: str, **values: str) -> str:
    row = [{**HEADER_DEFAULTS, **values}.get(column, "-" if kind != "gcs" else "x") for column in HEADER_COLUMNS[kind]]
    if kind == "gcs":
        return ",".join('"' + value.replace('"', '""') + '"' for value in row)
    return ("\t" if kind == "cloudfront" else " ").join(row)


def header_head(kind: str) -> list[str]:
    if kind == "gcs":
        return [",".join(f'"{column}"' for column in HEADER_COLUMNS[kind])]
    separator = "\t" if kind == "cloudfront" else " "
    return ["#Version: 1.0", "#Fields: " + separator.join(HEADER_COLUMNS[kind])]


def header_line_cases(kind: str) -> list[str]:
    good = header_row(kind)
    separator = {"gcs": ",", "cloudfront": "\t", "w3c": " "}[kind]
    lines = [header_row(kind, **values) for values in HEADER_VARIANTS]
    lines += [
        good + "\r", good + separator, good + separator + "x", good.rsplit(separator, 1)[0], good.replace(separator, separator * 2, 1),
        good.replace("10:00:01", "10:00\r01"), *header_head(kind), "", "#Remark: restarted", good.replace('"', "", 2),
        good.replace('"GET"', '"GET""x"'), good[:-1], good + '"',
    ]
    return lines


def header_lines_data(kind: str, lines: list[str]) -> bytes:
    return "".join(line + "\n" for line in [*header_head(kind), *lines, *[header_row(kind)] * (len(lines) + 10)]).encode()


@pytest.mark.parametrize("kind", HEADER_COLUMNS)
def test_header_format_lines_read_as_the_definition_reads_them(tmp_path, monkeypatch, kind):
    data = header_lines_data(kind, header_line_cases(kind))
    assert_read_as_the_definition_reads_it(tmp_path, data, monkeypatch, log_format=kind)


@pytest.mark.parametrize("kind", HEADER_COLUMNS)
def test_the_kernel_decides_header_format_lines(kind):
    pattern = compile_format(kind, head=header_lines_data(kind, []))
    written = [header_row(kind, **values) for values in HEADER_VARIANTS[:2]]
    assert DEFER not in kernel_outcomes(pattern, [line.encode() for line in written])
    cases = kernel_outcomes(pattern, [line.encode() for line in header_line_cases(kind)])
    assert cases.count(DEFER) < len(cases) // 2


@pytest.mark.parametrize("kind", HEADER_COLUMNS)
def test_every_prefix_of_a_header_format_line_reads_inside_its_bytes_as_the_definition_does(kind):
    pattern = compile_format(kind, head=header_lines_data(kind, []))
    outcomes = kernel_outcomes_of_prefixes(pattern, header_row(kind).encode())
    assert outcomes[-1] not in (DEFER, DECODE_PATH)  # the whole line is the kernel's


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(list(HEADER_COLUMNS)), variants=st.lists(st.sampled_from(HEADER_VARIANTS), max_size=3))
def test_generated_header_format_lines_read_as_the_definition_reads_them(tmp_path_factory, monkeypatch, kind,
                                                                          variants):
    tmp = tmp_path_factory.mktemp("generated-header")
    data = header_lines_data(kind, [header_row(kind, **{k: v for values in variants for k, v in values.items()})])
    assert_read_as_the_definition_reads_it(tmp, data, monkeypatch, log_format=kind)


# -- S3 server access logs ---------------------------------------------------------

S3_OWNER = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
S3_TRAILER = (" - s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3= SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader "
              "pypi-bucket.s3.eu-west-3.amazonaws.com TLSv1.2 - -")
S3_PARTS = {  # each part's first value is a normal line's; quoted parts with their quotes
    "owner": [S3_OWNER, "-", "", "a\tb"],
    "time": ["05/Mar/2026:10:00:01 +0000", "05/Mar/2026:10:00:01 -0530", "05/Mar/2026:10:00:01 +1500",
             "05/Mar/2026:10:00:01", "32/Mar/2026:10:00:01 +0000", "05/mar/2026:10:00:01 +0000",
             "05/Mar/1990:10:00:01 +0000", "5/Mar/2026:10:00:01 +0000", "05/Mar/2026:10:00:01 +0000 x",
             "05/Mar/2026:10:00:01.250 +0000", "29/Feb/2026:10:00:01 +0000", ""],
    "client": ["192.0.2.7", "2001:db8::7", "-", "", "a b"],
    "requester": ["-", "arn:aws:iam::123456789012:user/alice", "svc:logging.s3.amazonaws.com"],
    "operation": ["REST.GET.OBJECT", "REST.HEAD.OBJECT", "WEBSITE.GET.OBJECT", "REST.GET.OBJECT x"],
    "key": ["simple/numpy/numpy-2.1.0-py3-none-any.whl", "-", "simple/caf%25C3%25A9/", '"'],
    "request": ['"GET /simple/numpy/numpy-2.1.0-py3-none-any.whl HTTP/1.1"', '"GET /simple/numpy/ HTTP/1.1"',
                '"GET /simple/Django_Rest/"', '"HEAD /simple/numpy/ HTTP/1.1"', '"-"', '""',
                '"get /simple/x/ HTTP/1.1"', '"GET http://pypi-bucket.s3.amazonaws.com/simple/numpy/ HTTP/1.1"',
                '"GET /simple/caf%C3%A9/?x=1 HTTP/1.1"', '"GET /project/numpy/json HTTP/1.1"', '"GET /faq.html HTTP/1.1"',
                '"GET  /simple/numpy/ HTTP/1.1"', '"GET /simple/a\\"b/ HTTP/1.1"', '"GET /simple/a\\\\b/ HTTP/1.1"',
                '"GET /a"b HTTP/1.1"', '"GET /"', '"GET /simple/numpy/ HTTP/1.1', '"GET /simple/numpy/?a=\\" HTTP/1.1"'],
    "status": ["200", "404", "304", "20", "2000", "-"],
    "error": ["-", "NoSuchKey", ""],
    "bytes": ["5120", "-", "0", "99999999999999999999", "12a", "+5", ""],
    "times": ["5120 7 -", "- - -", "5120 7", "5120 7 - x"],
    "referrer": ['"-"', '"https://example.org/caf\\xC3\\xA9?q=1"', '"say \\"hi\\""', '""', '"a\\\\"', '"a\\"',
                 '"https://example.org/caf\u00e9 \\u00e9"', '"x" "y"', "-"],
    "agent": [f'"{PIP_AGENT}"', '"-"', '""', '"pip/1.5.6 CPython/2.7.9 Linux/4.9.35-v7+"',
              '"Mozilla/5.0 caf\u00e9 \u2603"', '"a\\"b"', '"say "hi""', '"x" "y"', '"', '"unclosed', "-"],
    "rest": [S3_TRAILER, "", "\r", " - -\r", ' "x"', " x", "x", "\r\r", ' -"', "  "],
}


def s3_line(**parts: str) -> str:
    p = {name: values[0] for name, values in S3_PARTS.items()} | parts
    return (f"{p['owner']} pypi-bucket [{p['time']}] {p['client']} {p['requester']} 3E57427F3EXAMPLE "
            f"{p['operation']} {p['key']} {p['request']} {p['status']} {p['error']} {p['bytes']} {p['times']} "
            f"{p['referrer']} {p['agent']}{p['rest']}")


def s3_line_cases() -> list[str]:
    lines = [s3_line(**{name: value}) for name, values in S3_PARTS.items() for value in values]
    lines += [s3_line(request=request, agent=agent) for request in S3_PARTS["request"][:3]
              for agent in S3_PARTS["agent"][1:4]]
    lines += ["", "not s3", s3_line().replace(" ", "  ", 1), s3_line()[:-1], s3_line().replace('" "', '"  "')]
    return lines


def test_s3_lines_read_as_the_definition_reads_them(tmp_path, monkeypatch):
    assert_read_as_the_definition_reads_it(tmp_path, log_of(s3_line_cases(), s3_line()), monkeypatch, log_format="s3")


def test_the_kernel_decides_s3_lines():
    pattern = compile_format("s3")
    written = [s3_line(**parts) for parts in (
        {}, {"request": S3_PARTS["request"][1]}, {"rest": ""}, {"rest": "\r"}, {"status": "404"},
        {"client": "2001:db8::7"}, {"agent": S3_PARTS["agent"][3]}, {"agent": '"say "hi""'},
        {"referrer": S3_PARTS["referrer"][1]}, {"bytes": "-"}, {"requester": S3_PARTS["requester"][1]})]
    assert DEFER not in kernel_outcomes(pattern, [line.encode() for line in written])
    cases = kernel_outcomes(pattern, [line.encode() for line in s3_line_cases()])
    assert cases.count(DEFER) < len(cases) // 2


@pytest.mark.parametrize("rest", S3_PARTS["rest"][:4])
def test_every_prefix_of_an_s3_line_reads_inside_its_bytes_as_the_definition_does(rest):
    pattern = compile_format("s3")
    outcomes = kernel_outcomes_of_prefixes(pattern, s3_line(referrer='"say \\"hi\\""', rest=rest).encode())
    assert outcomes[-1] not in (DEFER, DECODE_PATH)  # the whole line is the kernel's


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.fixed_dictionaries({name: st.sampled_from(values) for name, values in S3_PARTS.items()}),
       agent=st.one_of(st.none(), quoted, st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=30)))
def test_generated_s3_lines_read_as_the_definition_reads_them(tmp_path_factory, monkeypatch, parts, agent):
    tmp = tmp_path_factory.mktemp("generated-s3")
    if agent is not None:
        parts["agent"] = f'"{agent}"'
    assert_read_as_the_definition_reads_it(tmp, log_of([s3_line(**parts)], s3_line()), monkeypatch, log_format="s3")
