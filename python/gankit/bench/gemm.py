"""Dense float32 GEMM throughput: gankit's micro-kernels next to NumPy's matmul.

    gankit bench gemm                        # sizes 64..2048, 1 and 2 threads
    gankit bench gemm --threads 1 --sizes 512,1024 --kernel all --json out.json
    gankit bench gemm --precision fp32,bf16  # bf16 products next to fp32 (AVX512-BF16 CPUs)

For each square size n (C = A B, all n x n) and for the three products of a dense
layer at one MLP shape (batch x in -> out):
    X W      forward            (batch x in) (in x out)
    X^T dY   weight gradient    (in x batch) (batch x out), X read transposed
    dY W^T   input gradient     (batch x out) (out x in),   W read transposed
it prints GFLOP/s (2 M N K flops per product) for gankit and for NumPy in the same
run, with NumPy's BLAS pinned to the same thread count through threadpoolctl when it
is installed, and each figure as a fraction of the FMA peak (measured per core by
gankit, times the thread count).

Each figure is the BEST of --repeat timed runs, after a warm-up call that also sizes
the run: every timed run loops the product enough times to last ~20 ms, so small
sizes are not measured at timer resolution. Best, not median, because on a shared
machine the fastest run is the one least disturbed by others, i.e. what the code
itself can do; both libraries are measured the same way.

--precision bf16 adds rows for gankit's bf16 products (operands rounded to bfloat16,
sums in float32; the kernel column names the bf16 kernel) next to NumPy's float32.
Their "% peak" is of the float32 FMA peak, which a bf16 kernel can pass: each of its
instructions does the work of two FMAs.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time

import numpy as np

import gankit
from gankit import _core
from gankit.nn import bf16_refusal

from ._arguments import positive_ints
from ._machine import cpu_identity, cpu_model
from ._timing import best_seconds

try:
    from threadpoolctl import threadpool_limits
except ImportError:
    threadpool_limits = None

MIN_RUN_SECONDS = 0.02


def mlp_shape(text):
    """'batch,in,out' as positive integers, or None for 'none'."""
    return None if text == "none" else positive_ints(text)


def parse_args(argv, prog: str = "gankit bench gemm"):
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=positive_ints, default=[64, 128, 256, 512, 1024, 2048],
                        help="square sizes n, comma-separated (default: 64,...,2048)")
    parser.add_argument("--threads", type=positive_ints, default=[1, 2],
                        help="thread counts, comma-separated (default: 1,2)")
    parser.add_argument("--repeat", type=int, default=7,
                        help="timed runs per figure; the best is reported (default: 7)")
    parser.add_argument("--kernel", default=None,
                        help="micro-kernel to use: one of gankit._core.gemm_kernels(), a "
                             "comma-separated list, or 'all' (default: the one in use)")
    parser.add_argument("--mlp", type=mlp_shape, default="256,784,1024",
                        help="batch,in,out of the dense-layer products, or 'none' "
                             "(default: 256,784,1024)")
    parser.add_argument("--peak-seconds", type=float, default=0.5,
                        help="duration of the FMA peak measurement (default: 0.5)")
    parser.add_argument("--precision", default="fp32",
                        help="fp32, bf16 or fp32,bf16: the products' arithmetic (default: fp32; "
                             "bf16 needs a CPU with AVX512-BF16)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    args.precision = [p.strip() for p in args.precision.split(",")]
    if any(p not in ("fp32", "bf16") for p in args.precision):
        parser.error(f"--precision: expected fp32, bf16 or fp32,bf16, got {','.join(args.precision)}")
    refusal = bf16_refusal("--precision bf16") if "bf16" in args.precision else None
    if refusal:
        parser.error(refusal)
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    return args


def kernels_to_run(requested, prog: str):
    available = _core.gemm_kernels()
    if requested is None:
        return [_core.gemm_kernel()]
    names = available if requested == "all" else [k.strip() for k in requested.split(",")]
    unknown = [k for k in names if k not in available]
    if unknown:
        sys.exit(f"{prog}: kernel(s) {unknown} not available here; available: {available}")
    return names


def problems(sizes, mlp, precision="fp32"):
    """(label, (M, N, K), gankit call, numpy call) for every product to measure."""
    rng = np.random.default_rng(0)

    def matrix(rows, cols):
        return rng.standard_normal((rows, cols), dtype=np.float32)

    out = []
    for n in sizes:
        a, b = matrix(n, n), matrix(n, n)
        out.append((f"square {n}", (n, n, n),
                    lambda a=a, b=b: _core.matmul(a, b, precision=precision),
                    lambda a=a, b=b: a @ b))
    if mlp is not None:
        batch, n_in, n_out = mlp
        x, w, dy = matrix(batch, n_in), matrix(n_in, n_out), matrix(batch, n_out)
        out.append(("X W", (batch, n_out, n_in),
                    lambda: _core.matmul(x, w, precision=precision), lambda: x @ w))
        out.append(("X^T dY", (n_in, n_out, batch),
                    lambda: _core.matmul(x, dy, trans_a=True, precision=precision), lambda: x.T @ dy))
        out.append(("dY W^T", (batch, n_in, n_out),
                    lambda: _core.matmul(dy, w, trans_b=True, precision=precision), lambda: dy @ w.T))
    return out


def check_agreement(label, ours, theirs, tolerance=1e-4):
    """A benchmark of a wrong product means nothing: compare once before timing."""
    ours, theirs = ours(), theirs()
    scale = float(np.abs(theirs).max()) or 1.0
    error = float(np.abs(ours - theirs).max()) / scale
    if not error < tolerance:
        print(f"WARNING: {label}: gankit and NumPy differ (max relative error {error:.2e})",
              file=sys.stderr)


def numpy_threads(threads):
    """Context manager pinning NumPy's BLAS to `threads`, or None when we cannot."""
    if threadpool_limits is None:
        return None
    return threadpool_limits(limits=threads, user_api="blas")


def numpy_gflops(cases, threads, repeat):
    """NumPy's figure for every case at `threads`, its BLAS pinned there if we can."""
    limiter = numpy_threads(threads)
    if limiter is not None:
        limiter.__enter__()
    try:
        return {label: 2.0 * m * n * k / best_seconds(theirs, repeat, MIN_RUN_SECONDS) * 1e-9
                for label, (m, n, k), _, theirs in cases}
    finally:
        if limiter is not None:
            limiter.__exit__(None, None, None)


def measure(args, prog: str):
    mlp = None if args.mlp is None else tuple(args.mlp)
    if mlp is not None and len(mlp) != 3:
        sys.exit(f"{prog}: --mlp expects batch,in,out (three integers) or 'none'")
    peak = _core.fma_peak_gflops(args.peak_seconds)
    cases = problems(args.sizes, mlp)
    # (kernel name, precision, cases): each fp32 kernel asked for, then the bf16 kernel.
    variants = [(kernel, "fp32", cases) for kernel in kernels_to_run(args.kernel, prog)] \
        if "fp32" in args.precision else []
    if "bf16" in args.precision:
        variants.append((_core.gemm_bf16_kernel(), "bf16", problems(args.sizes, mlp, "bf16")))
    for _, precision, variant_cases in variants:
        for label, _, ours, theirs in variant_cases:
            # bf16 operands carry 8 significant bits: a few 2^-8 of the largest element
            check_agreement(label, ours, theirs, 1e-4 if precision == "fp32" else 2e-2)
    rows = []
    for threads in args.threads:
        # All of gankit first, then all of NumPy: a BLAS that spins its idle threads
        # after a call would otherwise steal a core from the next gankit measurement.
        gankit.set_num_threads(threads)
        ours = {}
        for kernel, precision, variant_cases in variants:
            if precision == "fp32":
                _core.select_gemm_kernel(kernel)
            for label, (m, n, k), fn, _ in variant_cases:
                ours[kernel, label] = 2.0 * m * n * k / best_seconds(fn, args.repeat, MIN_RUN_SECONDS) * 1e-9
        theirs = numpy_gflops(cases, threads, args.repeat)
        for kernel, precision, variant_cases in variants:
            for label, (m, n, k), _, _ in variant_cases:
                mine, blas = ours[kernel, label], theirs[label]
                rows.append({
                    "kernel": kernel, "precision": precision, "threads": threads, "product": label,
                    "m": m, "n": n, "k": k,
                    "gankit_gflops": mine, "numpy_gflops": blas,
                    "gankit_fraction_of_peak": mine / (peak * threads),
                    "numpy_fraction_of_peak": blas / (peak * threads),
                    "ratio_to_numpy": mine / blas,
                })
    return peak, rows


def print_table(peak, rows, repeat):
    blocking = gankit.build_info()["gemm_blocking"]
    print(f"CPU: {cpu_model()}; {time.strftime('%Y-%m-%d')}; gankit kc {blocking['kc']}, "
          f"mc {blocking['mc']}, nc {blocking['nc']} ({blocking['source']}).")
    print(f"FMA peak: {peak:.1f} GFLOP/s per core (float32, measured); "
          f"figures are the best of {repeat} runs.")
    if threadpool_limits is None:
        print("note: threadpoolctl is not installed, so NumPy's BLAS threads are NOT pinned "
              "to the thread count below (pip install threadpoolctl, or set "
              "OPENBLAS_NUM_THREADS / OMP_NUM_THREADS before starting).")
    print()
    print("| kernel | threads | product | M x N x K | gankit GFLOP/s | % peak "
          "| NumPy GFLOP/s | % peak | gankit / NumPy |")
    print("|---|---:|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['kernel']} | {r['threads']} | {r['product']} | {r['m']} x {r['n']} x {r['k']} "
              f"| {r['gankit_gflops']:.1f} | {100 * r['gankit_fraction_of_peak']:.0f}% "
              f"| {r['numpy_gflops']:.1f} | {100 * r['numpy_fraction_of_peak']:.0f}% "
              f"| {r['ratio_to_numpy']:.2f} |")


def main(argv=None, prog: str = "gankit bench gemm") -> int:
    args = parse_args(argv, prog)
    initial_kernel = _core.gemm_kernel()
    try:
        peak, rows = measure(args, prog)
    finally:
        _core.select_gemm_kernel(initial_kernel)
    print_table(peak, rows, args.repeat)
    if args.json:
        report = {
            "fma_peak_gflops_per_core": peak,
            "statistic": f"best of {args.repeat}",
            "numpy_threads_pinned": threadpool_limits is not None,
            "numpy_version": np.__version__,
            "gankit_version": getattr(gankit, "__version__", None),
            "available_kernels": _core.gemm_kernels(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
            "cpu_model": cpu_model(),
            "cpu": cpu_identity(),
            "build_info": gankit.build_info(),
            "machine": platform.machine(),
            "results": rows,
        }
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
        print(f"\nwrote {args.json}")
    return 0
