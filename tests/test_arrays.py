"""Arrow arrays made through their buffers hold what pyarrow's own constructors would, nulls included, and
reading them back views their buffers; neither imports pandas."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import numpy as np
import pyarrow as pa
import pytest

from wheelstats import arrays

PYTHON_VALUES = {
    pa.string(): ["a", None, "é€😀", "", "x" * 300],
    pa.binary(): [b"a", None, b"\x00\xff", b""],
    pa.large_string(): ["a", None, "é"],
    pa.large_binary(): [None, b"\x01"],
    pa.bool_(): [True, None, False, True, False, False, True, True, False, None],
    pa.date32(): [date(2020, 1, 2), None, date(1969, 12, 31)],
    pa.int32(): [1, None, -2**31, 2**31 - 1],
    pa.int64(): [0, -1, 2**62],
    pa.uint64(): [2**64 - 1, None, 0],
    pa.float64(): [1.5, None, -0.0],
}


@pytest.mark.parametrize("type", PYTHON_VALUES, ids=str)
def test_python_values_make_the_array_pyarrow_makes(type):
    values = PYTHON_VALUES[type]
    made = arrays.from_python(values, type)
    made.validate(full=True)
    assert made.type == type
    assert made.equals(pa.array(values, type))
    assert made.to_pylist() == values


def test_no_values_make_an_empty_array():
    assert arrays.from_python([], pa.string()).equals(pa.array([], pa.string()))
    assert len(arrays.numbers(np.array([], np.int64), pa.int64())) == 0


def test_numbers_are_null_where_missing_and_keep_numpy_slices_in_order():
    values = np.arange(20, dtype=np.int64)[::3] - 5  # a strided view: not contiguous
    missing = values < 0
    made = arrays.numbers(values, pa.int64(), missing)
    made.validate(full=True)
    assert made.to_pylist() == [None if value < 0 else value for value in values.tolist()]
    assert made.null_count == int(missing.sum())
    assert arrays.numbers(values, pa.timestamp("s")).to_pylist()[-1] == pa.scalar(13, pa.timestamp("s")).as_py()


def test_text_past_its_offsets_reach_is_refused(monkeypatch):
    monkeypatch.setitem(arrays._OFFSETS, pa.string(), np.int8)  # a reach of 127 bytes, not 2 GiB: a small test
    with pytest.raises(OverflowError, match="128 bytes are too many for an array of string"):
        arrays.from_python(["x" * 100, "y" * 28], pa.string())


def test_numbers_of_another_width_are_refused():
    with pytest.raises(TypeError, match="int32"):
        arrays.numbers(np.arange(3, dtype=np.int32), pa.int64())


@pytest.mark.parametrize("type", [pa.int16(), pa.uint32(), pa.int64(), pa.float32(), pa.timestamp("us"), pa.date32()],
                         ids=str)
def test_as_numpy_views_what_numbers_made(type):
    values = np.arange(-3, 7).astype(arrays._numpy_type(type))
    made = arrays.numbers(values, type)
    assert np.array_equal(arrays.as_numpy(made), values)
    assert np.array_equal(arrays.as_numpy(made.slice(4, 3)), values[4:7])  # an offset into the buffer
    chunked = pa.chunked_array([made.slice(0, 2), made.slice(2)])
    assert np.array_equal(arrays.as_numpy(chunked), values)


def test_as_numpy_refuses_nulls_and_values_not_held_as_numbers():
    with pytest.raises(ValueError, match="1 nulls"):
        arrays.as_numpy(arrays.from_python([1, None], pa.int32()))
    with pytest.raises(TypeError, match="not held as numbers"):
        arrays.as_numpy(arrays.from_python([True], pa.bool_()))


def test_making_and_reading_arrays_leaves_pandas_unimported():
    script = """
import sys
import numpy as np, pyarrow as pa
from wheelstats import arrays
table = pa.table({"n": arrays.numbers(np.arange(3), pa.int64()),
                  "s": arrays.from_python(["a", None, "c"], pa.string())})
arrays.as_numpy(table.column("n"))
table.take(arrays.numbers(np.array([2, 0]), pa.int64()))
print("pandas" in sys.modules)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip() == "False"
