"""Checks for scalar arguments at the public API boundary.

Array arguments are validated in C++ (python/bindings/array_args.cpp), where they are
converted once; this module covers the plain Python values: numbers, counts, names.
Every message names the argument, what was expected and what was given.
"""
from __future__ import annotations

import math
import numbers
from typing import Iterable, Optional


def _describe(value) -> str:
    return f"{value!r} ({type(value).__name__})"


def real_number(value, name: str, *, low=None, high=None, low_inclusive=True,
                high_inclusive=True) -> float:
    """Return `value` as a float after checking it is a finite real in the given range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {_describe(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value}")
    too_low = low is not None and (value < low if low_inclusive else value <= low)
    too_high = high is not None and (value > high if high_inclusive else value >= high)
    if too_low or too_high:
        lo = "" if low is None else f"{low} {'<=' if low_inclusive else '<'} "
        hi = "" if high is None else f" {'<=' if high_inclusive else '<'} {high}"
        raise ValueError(f"{name}: expected {lo}{name}{hi}, got {value}")
    return value


def integer(value, name: str, *, low: Optional[int] = None, high: Optional[int] = None) -> int:
    """Return `value` as an int after checking it is an integer (not bool) in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer, got {_describe(value)}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name}: expected an integer {bounds}, got {value}")
    return value


def choice(value, name: str, options: Iterable[str]) -> str:
    """Return `value` after checking it is one of `options`."""
    options = tuple(options)
    if not isinstance(value, str) or value not in options:
        listed = ", ".join(repr(o) for o in options)
        raise ValueError(f"{name}: expected one of {listed}, got {value!r}")
    return value


def seed(value, name: str = "seed") -> int:
    """A seed: an integer in [0, 2**64)."""
    return integer(value, name, low=0, high=2**64 - 1)
