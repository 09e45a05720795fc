"""The C kernel (parsing/program.py, _kernel.c) against the SQL definition (classify.parse_sql).

The definition is the spec: a line ingested through the kernel must give what it gives
when every line is left to the definition (the writer's program for a format it has no
program for), on every case of tests/data/lines and on generated lines. Malformed input
never crashes the kernel nor makes it read outside its block: every prefix of every case
is read from a buffer against an unreadable page.
"""

from __future__ import annotations

import ctypes
import mmap
from datetime import UTC, datetime
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
from wheelstats.parsing.logformat import compile_log_format
from wheelstats.parsing.program import DECODE_PATH, DEFER, KERNEL_OUTCOMES, compile_program, parse_lines

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


@pytest.mark.parametrize("case", PROGRAM_CASES)
def test_every_prefix_of_a_case_reads_inside_its_bytes_as_the_definition_does(case):
    pattern = pattern_of(case)
    program = compile_program(pattern)
    line = case["line"].encode()
    prefixes = [line[:cut] for cut in range(1, len(line) + 1)]
    until = int((datetime.now(UTC).replace(tzinfo=None) + PLAUSIBLE_AHEAD - EPOCH).total_seconds())
    since = int((PLAUSIBLE_SINCE - EPOCH).total_seconds())
    expected = definition_outcomes(prefixes, pattern)
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
