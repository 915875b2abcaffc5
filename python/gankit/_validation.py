"""Checks for arguments at the public API boundary.

The arrays the core reads are validated in C++ (python/bindings/array_args.cpp), where
they are converted once; this module covers the plain Python values (numbers, counts,
names, paths, seeds) and the float64 arrays that datasets and metrics compute on in
Python. Every message has one form, "<argument>: expected <what>, got <what was given>".
"""
from __future__ import annotations

import math
import numbers
import os
import reprlib
from typing import Iterable, Optional, Tuple

import numpy as np

from . import _core

# The core's limits (cpp/include/gankit/limits.h, threads.h): checked here first so the
# message names the Python argument.
MAX_ROWS = int(_core.MAX_ROWS)        # rows (or samples) one call may ask for
MAX_WIDTH = int(_core.MAX_WIDTH)      # units of one layer (its inputs or outputs)
MAX_THREADS = int(_core.MAX_THREADS)

# Bounded: a deeply nested or huge value (e.g. from a crafted checkpoint) must not make
# the error message itself fail or take long.
_brief = reprlib.Repr()
_brief.maxstring = _brief.maxother = 60
_brief.maxlevel = 3


def brief(value) -> str:
    """A short repr of `value`, safe for any object (depth and length bounded)."""
    try:
        return _brief.repr(value)
    except Exception:  # a broken __repr__ must not hide the real error
        return f"<{type(value).__name__}>"


def _describe(value) -> str:
    return f"{brief(value)} ({type(value).__name__})"


def real_number(value, name: str, *, low=None, high=None, low_inclusive=True,
                high_inclusive=True) -> float:
    """Return `value` as a float after checking it is a finite real in the given range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {_describe(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value}")
    if not _in_range(value, low, high, low_inclusive, high_inclusive):
        raise ValueError(f"{name}: expected {_range_text(name, low, high, low_inclusive, high_inclusive)}, "
                         f"got {value}")
    return value


def positive_number(value, name: str) -> float:
    """Return `value` as a float after checking it is a finite real > 0."""
    return real_number(value, name, low=0, low_inclusive=False)


def float32_number(value, name: str, *, low=None, high=None, low_inclusive=True,
                   high_inclusive=True) -> float:
    """Like real_number, for a setting the core stores as float32: the value float32
    rounds it to must also be finite and in range, so 1e39 (Inf in float32), 1e-60 (0)
    or 0.99999999999 (1.0) are refused here, naming the argument, not by the core."""
    value = real_number(value, name, low=low, high=high, low_inclusive=low_inclusive,
                        high_inclusive=high_inclusive)
    with np.errstate(over="ignore"):
        rounded = float(np.float32(value))
    if not (math.isfinite(rounded) and _in_range(rounded, low, high, low_inclusive, high_inclusive)):
        expected = _range_text(name, low, high, low_inclusive, high_inclusive) or "a finite number"
        raise ValueError(f"{name}: expected {expected} in float32, got {value!r}, which float32 "
                         f"rounds to {rounded!r}")
    return value


def _in_range(value, low, high, low_inclusive, high_inclusive) -> bool:
    too_low = low is not None and (value < low if low_inclusive else value <= low)
    too_high = high is not None and (value > high if high_inclusive else value >= high)
    return not (too_low or too_high)


def _range_text(name, low, high, low_inclusive, high_inclusive) -> str:
    if low is None and high is None:
        return ""
    lo = "" if low is None else f"{low} {'<=' if low_inclusive else '<'} "
    hi = "" if high is None else f" {'<=' if high_inclusive else '<'} {high}"
    return f"{lo}{name}{hi}"


def integer(value, name: str, *, low: Optional[int] = None, high: Optional[int] = None) -> int:
    """Return `value` as an int after checking it is an integer (not bool) in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer, got {_describe(value)}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = " and ".join(b for b in (None if low is None else f">= {low}",
                                          None if high is None else f"<= {high}") if b)
        raise ValueError(f"{name}: expected an integer {bounds}, got {value}")
    return value


def count(value, name: str) -> int:
    """A number of rows or samples to produce: an integer in [1, MAX_ROWS]."""
    return integer(value, name, low=1, high=MAX_ROWS)


def boolean(value, name: str) -> bool:
    """Return `value` after checking it is True or False (a NumPy bool too), not 0 or "no"."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected True or False, got {_describe(value)}")
    return bool(value)


def choice(value, name: str, options: Iterable[str]) -> str:
    """Return `value` after checking it is one of `options`."""
    options = tuple(options)
    if not isinstance(value, str) or value not in options:
        listed = ", ".join(repr(o) for o in options)
        raise ValueError(f"{name}: expected one of {listed}, got {brief(value)}")
    return value


def path(value, name: str) -> str:
    """A file path (str, bytes or os.PathLike, not empty) as str or bytes."""
    try:
        result = os.fspath(value)
    except TypeError:
        raise TypeError(f"{name}: expected a file path (str or os.PathLike), "
                        f"got {_describe(value)}") from None
    if not result:
        raise ValueError(f"{name}: expected a file path, got an empty one")
    if "\0" in (result if isinstance(result, str) else result.decode("latin-1")):
        raise ValueError(f"{name}: expected a file path, got one with a NUL character")
    return result


def seed(value, name: str = "seed") -> int:
    """A seed of the core's generator: an integer in [0, 2**64)."""
    return integer(value, name, low=0, high=2**64 - 1)


def numpy_seed(value, name: str = "seed") -> Optional[int]:
    """A seed for numpy.random.default_rng: None (fresh entropy from the OS) or an
    integer >= 0 (NumPy takes any size)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected None or an integer >= 0, got {_describe(value)}")
    if value < 0:
        raise ValueError(f"{name}: expected None or an integer >= 0, got {value}")
    return int(value)


# -- float64 arrays (datasets and metrics compute on them in NumPy) ----------------------
def real_vector(values, name: str) -> np.ndarray:
    """A non-empty sequence of finite reals (not bools) as a 1-D float64 array."""
    expected = f"{name}: expected a non-empty sequence of finite numbers"
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise TypeError(f"{expected}, got {_describe(values)}")
    for i, v in enumerate(values):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
            raise TypeError(f"{expected}, got {name}[{i}] = {_describe(v)}")
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{expected}, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{expected}, got {brief(array.tolist())}")
    return array


def weights(values, name: str, size: int) -> np.ndarray:
    """`size` non-negative finite weights with a positive sum, normalised to sum to 1
    (float64); None gives `size` equal weights."""
    if values is None:
        return np.full(size, 1.0 / size)
    w = real_vector(values, name)
    if w.size != size:
        raise ValueError(f"{name}: expected {size} entries, got {w.size}")
    if np.any(w < 0) or not w.sum() > 0:
        raise ValueError(f"{name}: expected non-negative numbers with a positive sum, "
                         f"got {brief(w.tolist())}")
    return w / w.sum()


def real_matrix(value, name: str, *, shape: str = "(n, dim)", min_rows: int = 1,
                max_magnitude: Optional[float] = None) -> np.ndarray:
    """`value` (an array or nested sequence of reals: float, int or uint dtype) as a
    C-contiguous float64 2-D array with at least `min_rows` rows and one column, all
    finite and, when max_magnitude is given, of magnitude at most max_magnitude. `shape`
    names the axes in the messages. The result is `value` itself when it already is such
    an array (no copy)."""
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):  # ragged nested lists
        raise TypeError(f"{name}: expected a 2-D {shape} array of real numbers, got a "
                        f"{type(value).__name__} NumPy cannot read as one") from None
    if array.dtype.kind not in "fiu":
        raise TypeError(f"{name}: expected an array of real numbers, got dtype {array.dtype}")
    if array.ndim != 2:
        hint = f" (use {name}.reshape(-1, 1) for 1-D data)" if array.ndim == 1 else ""
        raise ValueError(f"{name}: expected a 2-D {shape} array{hint}, got shape {array.shape}")
    if array.shape[0] < min_rows or array.shape[1] < 1:
        raise ValueError(f"{name}: expected at least {min_rows} row(s) and 1 column, "
                         f"got shape {array.shape}")
    array = np.ascontiguousarray(array, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: expected finite values, got "
                         f"{int(np.sum(~np.isfinite(array)))} NaN or infinite value(s)")
    if max_magnitude is not None:
        largest = float(np.abs(array).max())
        if largest > max_magnitude:
            raise ValueError(f"{name}: expected values of magnitude at most {max_magnitude:g}, "
                             f"got {largest:g}")
    return array


def same_columns(a: np.ndarray, b: np.ndarray, names: Tuple[str, str]) -> None:
    """Check that the 2-D arrays a and b (named `names`) have the same number of columns."""
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"{names[0]} and {names[1]}: expected the same number of columns, "
                         f"got {a.shape[1]} and {b.shape[1]}")


def float32_array(value, name: str, shape) -> np.ndarray:
    """`value` as a finite float32 array of exactly `shape` (any float dtype is converted)."""
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError):  # ragged nested lists
        raise ValueError(f"{name}: expected an array of shape {tuple(shape)}, got a "
                         f"{type(value).__name__} NumPy cannot read as one") from None
    if arr.dtype.kind != "f":
        raise TypeError(f"{name}: expected a float array, got dtype {arr.dtype}")
    if arr.shape != tuple(shape):
        raise ValueError(f"{name}: expected shape {tuple(shape)}, got {arr.shape}")
    with np.errstate(over="ignore"):  # beyond float32's range becomes Inf, refused below
        arr = arr.astype(np.float32, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: expected finite float32 values, got NaN or Inf "
                         "(float64 values beyond float32's range become Inf)")
    return arr


def float32_rows(value, name: str, dim: int) -> np.ndarray:
    """`value` as a C-contiguous, finite float32 array of shape (n, dim), n >= 1 (training
    data: validated once, not per batch)."""
    if isinstance(value, np.ndarray):
        arr = value
    else:
        try:
            arr = np.asarray(value)
        except Exception as exc:  # ragged lists, objects NumPy cannot hold
            raise TypeError(f"{name}: expected a float array of shape (n, {dim}), got "
                            f"{type(value).__name__} that is not one ({exc})") from None
    if arr.dtype.kind != "f":
        raise TypeError(f"{name}: expected a float32 or float64 array, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[1] != dim or arr.shape[0] < 1:
        raise ValueError(f"{name}: expected a 2-D array of shape (n, {dim}) with n >= 1, got shape {arr.shape}")
    with np.errstate(over="ignore"):
        data = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.all(np.isfinite(data)):
        bad = int(np.flatnonzero(~np.isfinite(data).all(axis=1))[0])
        raise ValueError(f"{name}: expected finite float32 values, got NaN, Inf or an out-of-range "
                         f"value in row {bad}")
    return data


def callables(value, name: str) -> list:
    """`value` (an iterable of callables, not a string) as a list."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name}: expected a list of callables, got {type(value).__name__}")
    items = list(value)
    for i, item in enumerate(items):
        if not callable(item):
            raise TypeError(f"{name}[{i}]: expected a callable, got {type(item).__name__}")
    return items


def communicator(value, name: str):
    """An mpi4py communicator (MPI.COMM_WORLD or one split from it), checked by the
    methods data-parallel training calls, so any object that offers them is taken."""
    needed = ("Get_rank", "Get_size", "Allgather", "allgather", "bcast", "Abort")
    missing = [method for method in needed if not callable(getattr(value, method, None))]
    if missing:
        raise TypeError(f"{name}: expected an mpi4py communicator such as MPI.COMM_WORLD, got "
                        f"{_describe(value)} (no {', '.join(missing)})")
    return value
