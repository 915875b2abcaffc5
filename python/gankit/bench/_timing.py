"""The timing loop shared by the benchmarks that time single calls (gankit.bench.gemm,
benchmarks/metrics.py)."""
from __future__ import annotations

import math
import time
from typing import Callable


def best_seconds(fn: Callable[[], object], repeat: int, min_run_seconds: float,
                 long_call_seconds: float = math.inf) -> float:
    """Best per-call time of `fn` over `repeat` runs, each of enough calls to last about
    `min_run_seconds`. A first, untimed call warms up (first touch of memory, thread team
    start, workspace growth); when that call alone took `long_call_seconds` or more, what
    a warm-up saves is negligible against it, and it counts as the first run."""
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    calls = max(1, int(min_run_seconds / once))
    best = math.inf
    if once >= long_call_seconds:
        best, repeat = once, repeat - 1
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def elapsed_logger(stream=None) -> Callable[[str], None]:
    """log(message): the message on stderr after the seconds since this call, so a long
    benchmark shows where it is and how long each part took."""
    import sys
    start = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - start:6.1f} s] {message}", file=stream or sys.stderr, flush=True)

    return log
