"""argparse `type=` converters shared by the `gankit bench` commands. Each raises
argparse.ArgumentTypeError, which argparse reports prefixed with the option's name."""
from __future__ import annotations

import argparse
import os
from typing import List, Sequence


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def default_jobs() -> int:
    """The cores this process may run on (os.cpu_count() where affinity is unknown)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def positive_ints(text: str, unique: bool = False) -> List[int]:
    """'1,2' -> [1, 2]; with `unique`, repeats are dropped (first occurrence kept)."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers like 1,2, got {text!r}")
    return list(dict.fromkeys(values)) if unique else values


def names(text: str, allowed: Sequence[str]) -> List[str]:
    """A non-empty comma-separated subset of `allowed`, repeats dropped, order kept."""
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    if not chosen or any(name not in allowed for name in chosen):
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated subset of {','.join(allowed)}, got {text!r}")
    return list(dict.fromkeys(chosen))

