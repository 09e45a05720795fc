"""The gzip reader (ISA-L, then Python's gzip from a break on) gives the bytes and the error Python's gzip gives."""

from __future__ import annotations

import gzip
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from wheelstats.ingest.gzip_reader import GZIP_ERRORS, GzipReader

LOG = b"".join(b'10.0.%d.%d - - [05/Mar/2020:10:00:00 +0000] "GET /simple/p%d/ HTTP/1.1" 200 %d\n'
               % (n % 256, n // 256 % 256, n % 97, n * 31 % 10007) for n in range(60_000))
WHOLE = gzip.compress(LOG) + gzip.compress(b"a second member\n")


def read_all(stream, read1: bool) -> tuple[bytes, str | None]:
    """Everything `stream` gives, a MiB a read, and how it broke (the error's type and words), if it did."""
    out = bytearray()
    try:
        while chunk := (stream.read1(1 << 20) if read1 else stream.read(1 << 20)):
            out += chunk
    except GZIP_ERRORS as error:
        return bytes(out), f"{type(error).__name__}: {error}"
    return bytes(out), None


def assert_reads_as_python_gzip(path: Path) -> None:
    for read1 in (True, False):
        with open(path, "rb") as raw, open(path, "rb") as raw_again:
            assert read_all(GzipReader(raw), read1) == read_all(gzip.GzipFile(fileobj=raw_again), read1)


BROKEN = {
    "whole": WHOLE,
    "cut short": WHOLE[: len(WHOLE) // 2],
    "cut in the header": WHOLE[:5],
    "a bad CRC": WHOLE[:-30] + bytes([WHOLE[-30] ^ 1]) + WHOLE[-29:],
    "bytes after the last member": WHOLE + b"garbage!",
    "zeros after the last member": WHOLE + bytes(100),
    "corrupt deflate data": WHOLE[:1000] + b"\xff" * 50 + WHOLE[1050:],
}


def test_broken_files_read_as_python_gzip_reads_them(tmp_path):
    for name, data in BROKEN.items():
        path = tmp_path / f"{name}.gz"
        path.write_bytes(data)
        assert_reads_as_python_gzip(path)


@settings(max_examples=40, deadline=None)
@given(cut=st.integers(0, len(WHOLE)), flip=st.integers(0, len(WHOLE) - 1), flipped=st.booleans())
def test_any_cut_or_flipped_byte_reads_as_python_gzip_reads_it(tmp_path_factory, cut, flip, flipped):
    """A file cut anywhere, or with any one byte changed."""
    data = bytearray(WHOLE[:cut])
    if flipped:
        data = bytearray(WHOLE)
        data[flip] ^= 0x40
    path = tmp_path_factory.mktemp("gz") / "access.log.gz"
    path.write_bytes(data)
    assert_reads_as_python_gzip(path)
