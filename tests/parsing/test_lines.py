"""Splitting blocks into lines: counts always add up; bad lines are set aside with their numbers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from wheelstats.parsing.lines import MAX_LINE, split_lines


def test_lines_keep_their_numbers_and_terminators():
    lines = split_lines(b"a\nbb\r\nccc", first_line_no=10)
    assert lines.count == 3
    assert lines.table.column("line_no").to_pylist() == [10, 11, 12]
    assert lines.table.column("line").to_pylist() == ["a\n", "bb\r\n", "ccc"]


def test_bad_lines_are_rejected_by_reason():
    data = b"ok\n\xff\xfe\n\n" + b"x" * (MAX_LINE + 1) + b"\nnul\x00\nfine\n"
    lines = split_lines(data, first_line_no=1)
    assert [(r.line_no, r.reason) for r in lines.rejections] == [
        (2, "invalid_utf8"), (3, "empty_line"), (4, "line_too_long"), (5, "nul_byte"),
    ]
    assert lines.table.column("line").to_pylist() == ["ok\n", "fine\n"]
    assert lines.rejections[0].sample == "\ufffd\ufffd"


@given(st.binary(max_size=2000))
def test_every_line_is_either_kept_or_rejected(data):
    lines = split_lines(data, first_line_no=1)
    expected = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    assert lines.count == expected
    assert lines.table.num_rows + len(lines.rejections) == expected
    kept = set(lines.table.column("line_no").to_pylist())
    assert kept.isdisjoint(r.line_no for r in lines.rejections)
