#!/usr/bin/env python3
"""Sample-quality metrics: gankit's Cython loops next to the NumPy reference.

    python benchmarks/metrics.py                  # ring and grid, n = 2500 and 10000, 1 and 2 threads
    python benchmarks/metrics.py --quick          # ring, n = 1000, one run: a smoke test
    python benchmarks/metrics.py --sizes 5000 --threads 2 --metrics mmd2,nn1 --json out.json

For each dataset (the 8-mode ring and the 25-mode grid of gankit.datasets) and size n it
draws n "generated" samples (seed 1) and n "real" ones (seed 2), both float64, and times
  mode_scores(generated, mixture)          O(n * modes)   nearest centre + 3-std threshold
  mmd2(generated, real)                    O(n^2)         median-heuristic bandwidth included
  nn1_accuracy(generated, real)            O(n^2)         leave-one-out 1-NN over the 2n points
  median_bandwidth(generated, real)        O(1000^2)      the subsampled median heuristic alone
with gankit.metrics (argument checks + Cython loops on gankit.set_num_threads threads) and
with tests/metrics_reference.py, vectorised NumPy over row blocks using the fastest NumPy
form of the distances (|a|^2 + |b|^2 - 2 a.b, one BLAS product per block), so the
comparison is with the best a NumPy implementation does. NumPy's BLAS is pinned to the same
thread count through threadpoolctl when it is installed (pip install ".[bench]");
NumPy's element-wise functions (exp, argmin, the median) run on one thread whatever it is.

Each figure is the BEST of --repeat timed runs, after a warm-up call that also sizes the
run: a timed run repeats the call until it lasts ~50 ms, so fast calls are not measured at
timer resolution (a warm-up call of a second or more counts as the first timed run).
Best, not median, because on a shared machine the fastest run is the one least disturbed
by other work; both implementations are measured the same way. The
results of both are compared once before timing, and a disagreement is reported.
"""
import argparse
import json
import os
import platform
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, "tests"))

try:
    import gankit
    from gankit import datasets, metrics
    from gankit import _metrics
    from gankit.bench._timing import best_seconds
except ImportError as exc:  # pragma: no cover - a usage error, not a code path
    sys.exit(f"metrics.py: cannot import gankit ({exc}); build it first, e.g. `pip install -e .`")

try:
    import metrics_reference as reference
except ImportError as exc:  # pragma: no cover
    sys.exit(f"metrics.py: cannot import tests/metrics_reference.py ({exc}); run this script "
             f"from a checkout of the gankit repository")

try:
    from threadpoolctl import threadpool_limits
except ImportError:
    threadpool_limits = None

MIN_RUN_SECONDS = 0.05
LONG_CALL_SECONDS = 1.0
DATASETS = ("ring", "grid")
METRICS = ("mode_scores", "mmd2", "nn1", "median")


def parse_list(kind):
    def parse(text):
        return [kind(part.strip()) for part in text.split(",") if part.strip()]
    return parse


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Timings depend on the machine and on what else runs on it: compare the "
               "two columns of one run, not runs on different machines.")
    parser.add_argument("--sizes", type=parse_list(int), default=[2500, 10_000],
                        help="samples per set n, comma-separated (default: 2500,10000)")
    parser.add_argument("--threads", type=parse_list(int), default=[1, 2],
                        help="thread counts, comma-separated (default: 1,2)")
    parser.add_argument("--datasets", type=parse_list(str), default=list(DATASETS),
                        help=f"mixtures, comma-separated, from {','.join(DATASETS)} (default: both)")
    parser.add_argument("--metrics", type=parse_list(str), default=list(METRICS),
                        help=f"metrics, comma-separated, from {','.join(METRICS)} (default: all)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="timed runs per figure; the best is reported (default: 3)")
    parser.add_argument("--quick", action="store_true",
                        help="ring only, n = 1000, one timed run: a smoke test in seconds")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.datasets, args.repeat = [1000], ["ring"], 1
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    if not args.sizes or any(n < 2 for n in args.sizes):
        parser.error("--sizes must be integers >= 2")
    if not args.threads or any(t < 1 for t in args.threads):
        parser.error("--threads must be integers >= 1")
    for name, given, allowed in (("--datasets", args.datasets, DATASETS),
                                 ("--metrics", args.metrics, METRICS)):
        unknown = [g for g in given if g not in allowed]
        if unknown or not given:
            parser.error(f"{name}: expected names from {', '.join(allowed)}, got {given}")
    return args


def cases(dataset, n, wanted):
    """(metric, gankit call, NumPy reference call, comparison) for one dataset and size."""
    mix = datasets.mixture(dataset)
    generated = mix.sample(n, seed=1).astype(np.float64)
    real = mix.sample(n, seed=2).astype(np.float64)
    scores = {
        "mode_scores": (lambda: metrics.mode_scores(generated, mix).counts,
                        lambda: reference.mode_scores(generated, mix.centers, mix.std, mix.weights).counts,
                        lambda a, b: np.array_equal(a, b)),
        "mmd2": (lambda: metrics.mmd2(generated, real),
                 lambda: reference.mmd2(generated, real, None, "gram"),
                 lambda a, b: abs(a - b) <= 1e-9 * max(1.0, abs(b))),
        "nn1": (lambda: metrics.nn1_accuracy(generated, real),
                lambda: reference.nn1_accuracy(generated, real, "gram"),
                # The gram form may break a near-tie the other way: allow a few points.
                lambda a, b: abs(a - b) <= 3.0 / n),
        "median": (lambda: metrics.median_bandwidth(generated, real),
                   lambda: reference.median_distance(generated, real, "gram"),
                   lambda a, b: abs(a - b) <= 1e-9 * abs(b)),
    }
    return [(name, *scores[name]) for name in METRICS if name in wanted]


def numpy_threads(threads):
    """Context manager pinning NumPy's BLAS to `threads`, or None when we cannot."""
    if threadpool_limits is None:
        return None
    return threadpool_limits(limits=threads, user_api="blas")


def check_agreement(label, ours, theirs, agree):
    a, b = ours(), theirs()
    if not agree(a, b):
        print(f"WARNING: {label}: gankit and the NumPy reference differ ({a} vs {b})", file=sys.stderr)


def measure(args):
    rows = []
    for dataset in args.datasets:
        for n in args.sizes:
            problem = cases(dataset, n, args.metrics)
            for name, ours, theirs, agree in problem:
                check_agreement(f"{dataset} n={n} {name}", ours, theirs, agree)
            for threads in args.threads:
                # All of gankit first, then all of NumPy, as in gankit.bench.gemm: a BLAS
                # that spins its idle threads after a call would steal a core from us.
                gankit.set_num_threads(threads)
                mine = {name: best_seconds(ours, args.repeat, MIN_RUN_SECONDS, LONG_CALL_SECONDS) for name, ours, _, _ in problem}
                limiter = numpy_threads(threads)
                if limiter is not None:
                    limiter.__enter__()
                try:
                    blas = {name: best_seconds(theirs, args.repeat, MIN_RUN_SECONDS, LONG_CALL_SECONDS) for name, _, theirs, _ in problem}
                finally:
                    if limiter is not None:
                        limiter.__exit__(None, None, None)
                for name, *_ in problem:
                    rows.append({"dataset": dataset, "n": n, "metric": name, "threads": threads,
                                 "gankit_seconds": mine[name], "numpy_seconds": blas[name],
                                 "speedup": blas[name] / mine[name]})
                    print(f"  {dataset} n={n} {name} threads={threads}: "
                          f"{format_seconds(mine[name])} vs {format_seconds(blas[name])}",
                          file=sys.stderr, flush=True)
    return rows


def format_seconds(seconds):
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"


def print_table(rows, args, load_before, load_after):
    print(f"Best of {args.repeat} runs. Load average (1 min) {load_before:.2f} before, "
          f"{load_after:.2f} after, on {os.cpu_count()} logical CPUs"
          + (" (a busy machine: treat times as noisy)" if max(load_before, load_after)
             > 0.5 * (os.cpu_count() or 1) else "") + ".")
    if threadpool_limits is None:
        print("note: threadpoolctl is not installed, so NumPy's BLAS threads are NOT pinned "
              "to the thread count below (pip install threadpoolctl).")
    if not _metrics.has_openmp():
        print("note: gankit._metrics was built without OpenMP: its loops ran on one thread.")
    print()
    print("| data | n | metric | threads | gankit (Cython) | NumPy reference | speed-up |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['dataset']} | {r['n']:,} | {r['metric']} | {r['threads']} "
              f"| {format_seconds(r['gankit_seconds'])} | {format_seconds(r['numpy_seconds'])} "
              f"| {r['speedup']:.1f}× |")


def main(argv=None):
    args = parse_args(argv)
    initial_threads = gankit.get_num_threads()
    load_before = os.getloadavg()[0]
    try:
        rows = measure(args)
    finally:
        gankit.set_num_threads(initial_threads)
    load_after = os.getloadavg()[0]
    print_table(rows, args, load_before, load_after)
    if args.json:
        report = {
            "statistic": f"best of {args.repeat}",
            "numpy_threads_pinned": threadpool_limits is not None,
            "gankit_metrics_openmp": bool(_metrics.has_openmp()),
            "numpy_version": np.__version__,
            "gankit_version": getattr(gankit, "__version__", None),
            "machine": platform.machine(),
            "processor": platform.processor(),
            "logical_cpus": os.cpu_count(),
            "load_average_1min": {"before": load_before, "after": load_after},
            "results": rows,
        }
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
