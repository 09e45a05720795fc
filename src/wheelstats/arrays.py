"""Arrow arrays made from numpy arrays and Python values through their buffers.

pyarrow's own constructors (`pa.array`, a table of Python lists, `take` of a list) first ask
whether the values are pandas objects, and to ask they import pandas, at the first array a
process makes (apache/arrow#34994): 0.4 s on a quiet machine, over a second on a loaded one,
more than the rest of a small log's ingest takes. Nothing wheelstats hands to Arrow is a pandas
object, so the store's writers build their arrays here: numbers from numpy's buffer as it is,
text and bytes from their joined encodings, nulls as a validity bitmap. Reading back is alike:
pyarrow's `to_numpy` converts through its pandas layer, which imports pandas too; `as_numpy`
views the array's buffer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pyarrow as pa

_EPOCH = date(1970, 1, 1)
# The types of text and bytes, and the integers their offsets into the joined values are.
_OFFSETS = {pa.string(): np.int32, pa.binary(): np.int32, pa.large_string(): np.int64, pa.large_binary(): np.int64}


def numbers(values: np.ndarray, type: pa.DataType, missing: np.ndarray | None = None) -> pa.Array:
    """`values` as an array of `type` (a number, a time or a date as its integer), null where `missing` is true;
    their numpy type must have `type`'s width."""
    values = np.ascontiguousarray(values)
    if values.ndim != 1 or values.dtype.itemsize * 8 != type.bit_width:
        raise TypeError(f"{values.dtype} values of {values.ndim} dimensions are not an array of {type}")
    return pa.Array.from_buffers(type, len(values), [*_validity(missing), pa.py_buffer(values)])


def from_python(values: Sequence, type: pa.DataType) -> pa.Array:
    """Python values (None for null) as an array of `type`: text, bytes, booleans, dates or numbers."""
    missing = np.fromiter((value is None for value in values), bool, len(values))
    if type in _OFFSETS:
        encoded = [b"" if value is None else value.encode() if isinstance(value, str) else value for value in values]
        offsets = np.zeros(len(encoded) + 1, np.int64)
        np.cumsum(np.fromiter(map(len, encoded), np.int64, len(encoded)), out=offsets[1:])
        if offsets[-1] > np.iinfo(_OFFSETS[type]).max:
            raise OverflowError(f"{offsets[-1]:,} bytes are too many for an array of {type}")
        buffers = [pa.py_buffer(offsets.astype(_OFFSETS[type])), pa.py_buffer(b"".join(encoded))]
        return pa.Array.from_buffers(type, len(values), [*_validity(missing), *buffers])
    if pa.types.is_boolean(type):
        bits = np.packbits(np.fromiter((bool(value) for value in values), bool, len(values)), bitorder="little")
        return pa.Array.from_buffers(type, len(values), [*_validity(missing), pa.py_buffer(bits)])
    if pa.types.is_date32(type):
        days = [0 if value is None else (value - _EPOCH).days for value in values]
        return numbers(np.array(days, np.int32), type, missing)
    return numbers(np.array([0 if value is None else value for value in values], _numpy_type(type)), type, missing)


def as_numpy(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """An array of numbers, times or dates without nulls (a chunked one joined first) as numpy, a view of its
    buffer (read-only): times and dates as their integers."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if values.null_count:
        raise ValueError(f"an array of {values.type} with {values.null_count} nulls has no numpy view")
    dtype = _numpy_type(values.type)
    return np.frombuffer(values.buffers()[1], dtype, len(values), values.offset * dtype.itemsize)


def _numpy_type(type: pa.DataType) -> np.dtype:
    """The numpy type of `type`'s values (a time's or a date's: its integer)."""
    if pa.types.is_boolean(type) or not (pa.types.is_integer(type) or pa.types.is_floating(type)
                                        or pa.types.is_temporal(type)):
        raise TypeError(f"{type} is not held as numbers")
    kind = "u" if pa.types.is_unsigned_integer(type) else "f" if pa.types.is_floating(type) else "i"
    return np.dtype(f"{kind}{type.bit_width // 8}")


def _validity(missing: np.ndarray | None) -> list[pa.Buffer | None]:
    """The validity bitmap of values `missing` marks (None: none missing), as from_buffers takes it first."""
    if missing is None or not missing.any():
        return [None]
    return [pa.py_buffer(np.packbits(~missing, bitorder="little"))]
