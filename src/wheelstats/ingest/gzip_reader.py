"""Gzip logs decompressed by ISA-L (the `isal` package's igzip: three times Python's inflate), read to the same
bytes and the same break as Python's gzip.

At a break in the data (a file cut short, a bad CRC, bytes after the last
member) ISA-L stops short of where Python's gzip stops: it withholds what it
inflated from the last input it read, and a file with bytes after its last
member raises EOFError where gzip raises BadGzipFile. A broken log must give
every whole line it holds, so at a break in a file that can be read again,
Python's gzip reads on from where ISA-L stopped, to gzip's own break.
"""

from __future__ import annotations

import gzip
import zlib
from typing import BinaryIO

from isal import igzip, isal_zlib

# What reading a broken gzip stream raises, by either reader.
GZIP_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error, isal_zlib.error, OSError)
SKIP_BYTES = 4 << 20


class GzipReader(igzip.IGzipFile):
    """A gzip file (`fileobj`, opened for reading) read by ISA-L up to a break, then by Python's gzip."""

    def __init__(self, fileobj: BinaryIO):
        super().__init__(fileobj=fileobj, mode="rb")
        self.delivered = 0  # decompressed bytes read so far
        self.after_break: gzip.GzipFile | None = None

    def read(self, size: int = -1) -> bytes:
        return self._read(size, read1=False)

    def read1(self, size: int = -1) -> bytes:
        return self._read(size, read1=True)

    def _read(self, size: int, read1: bool) -> bytes:
        if self.after_break is None:
            try:
                data = super().read1(size) if read1 else super().read(size)
            except GZIP_ERRORS:
                if not self.fileobj.seekable():
                    raise
                self.after_break = self._python_gzip_at(self.delivered)
            else:
                self.delivered += len(data)
                return data
        return self.after_break.read1(size) if read1 else self.after_break.read(size)

    def _python_gzip_at(self, offset: int) -> gzip.GzipFile:
        """Python's gzip over the same file, `offset` decompressed bytes in (which ISA-L read whole)."""
        self.fileobj.seek(0)
        reader = gzip.GzipFile(fileobj=self.fileobj, mode="rb")
        while offset > 0:
            offset -= len(reader.read(min(offset, SKIP_BYTES)))
        return reader

    def close(self) -> None:
        if self.after_break is not None:
            self.after_break.close()
        super().close()
