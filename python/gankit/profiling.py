"""Where a GAN step spends its time: the C++ step's own per-phase timers.

    with gankit.profiling.step_profile() as profile:
        for _ in range(100):
            gan.d_step(x)
            gan.g_step(batch_size=64)
    for phase, (seconds, calls) in profile.totals.items():
        print(f"{phase:<28} {seconds:8.3f} s in {calls} calls")

The phases are the noise draws, each network's forward pass, the losses, D's input
gradient (in G's step) and each network's backward pass with its optimizer update. The
timers are process-wide: while they are on, the steps of every GAN on every thread add
to the same totals. Off, a phase costs one relaxed atomic load; on, two clock reads.
`gankit bench profile` reports these totals per iteration for the throughput
benchmark's configurations.
"""
from __future__ import annotations

import contextlib
from typing import Dict, Iterator, NamedTuple, Optional

from . import _core

__all__ = ["PhaseTotal", "StepProfile", "enable", "disable", "reset", "totals", "step_profile"]


class PhaseTotal(NamedTuple):
    """Time spent in one phase: total wall-clock seconds over `calls` timed calls."""

    seconds: float
    calls: int


def enable() -> None:
    """Turn the timers on (they are off when gankit is imported)."""
    _core.step_profile_enable(True)


def disable() -> None:
    """Turn the timers off; the totals so far are kept."""
    _core.step_profile_enable(False)


def reset() -> None:
    """Set every phase's seconds and calls back to zero (whether the timers are on or off)."""
    _core.step_profile_reset()


def totals() -> Dict[str, PhaseTotal]:
    """{phase: PhaseTotal(seconds, calls)} for every phase, always in the same order,
    accumulated since the last reset while the timers were on."""
    return {phase: PhaseTotal(seconds, calls)
            for phase, (seconds, calls) in _core.step_profile().items()}


class StepProfile:
    """What `step_profile()` yields: the totals of the timed block, read when it ends
    (before that, `totals` is None)."""

    def __init__(self) -> None:
        self.totals: Optional[Dict[str, PhaseTotal]] = None

    def __repr__(self) -> str:
        return f"StepProfile(totals={self.totals!r})"


@contextlib.contextmanager
def step_profile() -> Iterator[StepProfile]:
    """Time the GAN steps run inside the block: resets the totals and turns the timers
    on, then on leaving (even by an exception) turns them off and stores the totals in
    the yielded StepProfile. Blocks do not nest: the timers are process-wide, and the
    inner block's exit would turn them off for the outer one."""
    profile = StepProfile()
    reset()
    enable()
    try:
        yield profile
    finally:
        disable()
        profile.totals = totals()
