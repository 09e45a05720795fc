"""Content-defined chunks: where they end depends only on the lines there, and fingerprints compose."""

from __future__ import annotations

import duckdb
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from wheelstats import store
from wheelstats.ingest import chunks
from wheelstats.ingest.chunks import BOUNDARY, CUT, MAX_CHUNK_LINES, MIN_CHUNK_LINES, SOURCE_END, SOURCE_START, OpenChunk

# Line hashes with candidates (multiples of CANDIDATE_EVERY) far more often than real ones (1 in 64),
# so that short chunks, suppressed ends and junction cases all come up.
line_hash = st.one_of(
    st.integers(0, (1 << 58) - 1).map(lambda n: n * chunks.CANDIDATE_EVERY),
    st.integers(0, (1 << 64) - 1),
)
hash_runs = st.lists(line_hash, min_size=1, max_size=300).map(lambda hs: np.array(hs, dtype=np.uint64))


def cut_whole(hashes: np.ndarray) -> chunks.Cuts:
    """A whole source's chunks (100-byte lines)."""
    return chunks.cut(hashes, np.arange(1, len(hashes) + 1) * 100, OpenChunk.source_start(), at_end=True)


def spans(cuts: chunks.Cuts, shift: int = 0) -> list[tuple[int, int]]:
    return [(c.first + shift, c.end + shift) for c in cuts.chunks]


@settings(max_examples=300, deadline=None)
@given(a=hash_runs, b=hash_runs)
def test_a_concatenation_is_cut_as_its_parts_except_at_the_junction(a, b):
    """In a ++ b, a's chunks are a's (but its last, which b continues), and after one junction
    chunk (a's last chunk, then b's first, or first two when the first is short), b's chunks are b's."""
    whole_a, whole_b, joined = cut_whole(a), cut_whole(b), cut_whole(np.concatenate([a, b]))
    a_spans, b_spans, ab_spans = spans(whole_a), spans(whole_b, len(a)), spans(joined)
    a_ended_naturally = whole_a.chunks[-1].ends == BOUNDARY
    kept_of_a = a_spans if a_ended_naturally else a_spans[:-1]
    assert ab_spans[: len(kept_of_a)] == kept_of_a
    junction, after = ab_spans[len(kept_of_a)], ab_spans[len(kept_of_a) + 1 :]
    junction_start = len(a) if a_ended_naturally else a_spans[-1][0]
    assert junction[0] == junction_start
    if after == b_spans[1:]:
        assert junction[1] == b_spans[0][1]
    else:  # b's short first chunk lost its end to a's last lines: it runs into b's second
        assert whole_b.chunks[0].lines < MIN_CHUNK_LINES and after == b_spans[2:]
        assert junction[1] == b_spans[1][1]
    by_span = {(c.first, c.end): c.fingerprint for c in whole_a.chunks}
    by_span.update({(c.first + len(a), c.end + len(a)): c.fingerprint for c in whole_b.chunks})
    for chunk in joined.chunks:  # the same lines, the same fingerprint
        if (chunk.first, chunk.end) in by_span and chunk.end != len(a):
            assert chunk.fingerprint == by_span[(chunk.first, chunk.end)]


@settings(max_examples=200, deadline=None)
@given(hashes=hash_runs, split=st.integers(0, 300))
def test_block_by_block_cuts_as_all_at_once(hashes, split):
    """Cutting the lines in two blocks (the open chunk carried over) gives the same chunks."""
    split = min(split, len(hashes))
    ends = np.arange(1, len(hashes) + 1) * 100
    first = chunks.cut(hashes[:split], ends[:split], OpenChunk.source_start(), at_end=False)
    carried = OpenChunk(1 + first.open_first, 0, first.open_starts, first.open_quiet)
    rest = hashes[first.open_first :]
    second = chunks.cut(rest, np.arange(1, len(rest) + 1) * 100, carried, at_end=True)
    in_blocks = [(c.first, c.end, c.fingerprint, c.starts, c.ends) for c in first.chunks] + [
        (c.first + first.open_first, c.end + first.open_first, c.fingerprint, c.starts, c.ends) for c in second.chunks
    ]
    at_once = [(c.first, c.end, c.fingerprint, c.starts, c.ends) for c in cut_whole(hashes).chunks]
    assert in_blocks == at_once


def test_chunk_edges_say_how_they_came_about():
    hashes = np.array([1, 2, 64, 3, 5, 7, 128, 9, 11], dtype=np.uint64)  # candidates at lines 2 and 6
    cuts = cut_whole(hashes)
    assert [(c.first, c.end, c.starts, c.ends) for c in cuts.chunks] == [
        (0, 3, SOURCE_START, BOUNDARY), (3, 7, BOUNDARY, BOUNDARY), (7, 9, BOUNDARY, SOURCE_END),
    ]


def test_a_candidate_close_after_another_ends_no_chunk():
    hashes = np.array([64, 1, 128, 2, 3, 4, 192, 5], dtype=np.uint64)  # 64 and 128: 2 lines apart
    assert [(c.first, c.end) for c in cut_whole(hashes).chunks] == [(0, 1), (1, 7), (7, 8)]


def test_a_run_without_ends_is_cut_at_the_limit_and_never_matched():
    hashes = np.full(2 * MAX_CHUNK_LINES + 10, 7, dtype=np.uint64)  # the same line, never a candidate
    cuts = cut_whole(hashes)
    assert [c.lines for c in cuts.chunks] == [MAX_CHUNK_LINES, MAX_CHUNK_LINES, 10]
    assert [c.ends for c in cuts.chunks] == [CUT, CUT, SOURCE_END]
    assert not any(c.matchable for c in cuts.chunks)


@given(hashes=hash_runs, split=st.integers(0, 300))
def test_fingerprints_of_prefixes_suffixes_and_joined_runs_agree(hashes, split):
    split = min(split, len(hashes))
    whole = chunks.fingerprint(hashes)
    assert chunks.combine(chunks.fingerprint(hashes[:split]), chunks.fingerprint(hashes[split:]),
                          len(hashes) - split) == whole
    prefixes, suffixes = chunks.prefix_fingerprints(hashes), chunks.suffix_fingerprints(hashes)
    assert int(prefixes[-1]) == int(suffixes[0]) == whole
    if split:
        assert int(prefixes[split - 1]) == chunks.fingerprint(hashes[:split])
    if split < len(hashes):
        assert int(suffixes[split]) == chunks.fingerprint(hashes[split:])


def test_a_line_hashes_alike_with_or_without_its_last_newline():
    terminated = b"first line\nsecond line\n"
    hashes = chunks.line_hashes(terminated, chunks.line_ends(terminated))
    unterminated = b"second line"
    assert chunks.line_hashes(unterminated, chunks.line_ends(unterminated)).tolist() == [hashes[1]]
    assert hashes[0] != hashes[1]
    many = b"".join(b"line %d\n" % n for n in range(20_000))
    many_hashes = chunks.line_hashes(many, chunks.line_ends(many))
    assert many_hashes[12_345] == chunks.line_hashes(b"line 12345\n", np.array([11]))[0]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=80).map(lambda line: line.replace(b"\n", b"")), min_size=1, max_size=20),
       st.booleans())
def test_the_kernel_hashes_each_line_as_duckdb_does(lines, last_newline):
    """Stored fingerprints were made with DuckDB's hash(): the kernel's line hash must be the same."""
    data = b"\n".join(lines) + (b"\n" if last_newline else b"")
    ends = chunks.line_ends(data)
    con = duckdb.connect()
    starts = [0, *ends[:-1].tolist()]
    expected = [con.execute("SELECT hash(?::BLOB)", [data[s:e] if data[s:e].endswith(b"\n") else data[s:e] + b"\n"])
                .fetchone()[0] for s, e in zip(starts, ends.tolist())]
    assert chunks.line_hashes(data, ends).tolist() == expected
