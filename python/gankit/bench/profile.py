"""Where a gankit training iteration spends its time: the C++ step's own per-phase timers
(gankit.profiling) over the throughput benchmark's configurations.

    gankit bench profile [--configs toy2d,mnist64] [--threads 1,2] [--seconds 3]

For each config and thread count it runs the benchmark's iteration (d_step on the real
batch and B fakes, then g_step) for --seconds with the timers on, and prints the time of
each phase per iteration and its share. The timers cost two clock reads per phase, so
the figures sum to slightly more than an unprofiled iteration.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from . import _arguments
from ._machine import cpu_identity, cpu_model
from .speed.configs import CONFIGS, DEFAULT_CONFIGS, initial_state
from .speed.gankit import GankitIteration
from .speed.options import config_names


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def profile_config(name: str, threads: int, seconds: float) -> dict:
    """{phase: milliseconds per iteration} plus 'iterations' and 'total_ms' (unprofiled
    wall time per iteration, measured right before)."""
    import gankit as gk
    from gankit import profiling
    gk.set_num_threads(threads)
    config = CONFIGS[name]
    g_weights, d_weights, real = initial_state(config)
    iteration = GankitIteration(config, g_weights, d_weights, real, seed=0)
    for _ in range(5):  # first-step allocations, thread start-up
        iteration()
    iterations, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds / 2:
        iteration()
        iterations += 1
    plain_ms = 1e3 * (time.perf_counter() - start) / iterations
    with profiling.step_profile() as profile:
        profiled = 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds / 2:
            iteration()
            profiled += 1
    phases = {phase: 1e3 * total.seconds / profiled for phase, total in profile.totals.items()}
    return {"phases_ms": phases, "iterations": profiled, "total_ms": plain_ms}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="gankit bench profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", type=config_names, default=list(DEFAULT_CONFIGS),
                        help=f"comma-separated, from {', '.join(DEFAULT_CONFIGS)} (default: all)")
    parser.add_argument("--threads", type=_arguments.positive_ints, default=[1, 2], help="thread counts (default 1,2)")
    parser.add_argument("--seconds", type=_positive_seconds, default=3.0,
                        help="seconds per config and thread count (default 3)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)

    import gankit as gk
    results = []
    print(f"gankit {gk.__version__}, kernel {gk.build_info()['kernel']}: per-phase time of one "
          f"iteration (d_step + g_step), ms and share")
    for name in args.configs:
        for threads in args.threads:
            r = profile_config(name, threads, args.seconds)
            results.append({"config": name, "threads": threads, **r})
            total = sum(r["phases_ms"].values())
            print(f"\n{name}, {threads} thread(s): {r['total_ms']:.3f} ms per iteration unprofiled, "
                  f"{total:.3f} ms in the phases below ({r['iterations']} iterations)")
            for phase, ms in sorted(r["phases_ms"].items(), key=lambda kv: -kv[1]):
                print(f"  {phase:<22} {ms:9.3f} ms  {100 * ms / total:5.1f}%")
    if args.json:
        report = {"benchmark": "gankit bench profile", "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
                  "command": " ".join(["gankit bench profile", *(argv if argv is not None else sys.argv[1:])]),
                  "cpu_model": cpu_model(), "cpu": cpu_identity(), "build_info": gk.build_info(),
                  "results": results}
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    return 0
