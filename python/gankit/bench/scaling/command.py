"""`gankit bench scaling`: measure the fused and split steps and every data-parallel
layout round by round, then write results.json and results.md and print a summary (or,
with --markdown, the report)."""
from __future__ import annotations

import json
import os
import shlex
import sys
import time
from typing import Optional, Sequence

from ..speed.report import machine_info
from . import summary
from .driver import find_mpiexec, parallel_cases, run_rounds
from .iterations import MIN_ITERATIONS
from .options import parse_args
from .paper import FORMULAS, PAPER_GLOBAL_BATCHES, QUICK_PAPER_GLOBAL_BATCHES
from .._timing import elapsed_logger
from .report import DETERMINISM_NOTE, markdown_report, plain_summary


def run_benchmark(args, log) -> dict:
    import gankit as gk
    from gankit import _core
    load_start = os.getloadavg()
    peak = float(_core.fma_peak_gflops(args.peak_seconds))
    cases = parallel_cases(args.configs, args.large_batch)
    paper_batches = QUICK_PAPER_GLOBAL_BATCHES if args.quick else PAPER_GLOBAL_BATCHES
    runs, failures, launched, mpi_reason, units = run_rounds(args, cases, paper_batches, log)
    mpi = {"status": mpi_reason or "ok", "mpiexec": None if mpi_reason else find_mpiexec(args.mpiexec)}
    mpi.update(next((info["mpi"] for info in launched.values() if "mpi" in info), {}))
    # What each launch reported about its threads: OMP_NUM_THREADS and gankit's count.
    threads_seen = {label: {"ranks": info["ranks"], "threads_per_rank": info["threads_per_rank"]}
                    for label, info in launched.items()}
    return {
        "benchmark": "gankit bench scaling",
        "command": "gankit bench scaling " + shlex.join(args.argv),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "machine": {**machine_info(), "load_average_start": load_start, "load_average_end": os.getloadavg()},
        "gankit_version": gk.__version__,
        "build": gk.build_info(),
        "fma_peak_gflops_per_core": peak,
        "mpi": mpi,
        "settings": {"configs": args.configs, "large_batch": args.large_batch,
                     "layouts": [f"{r}x{t}" for r, t in args.layouts], "threads_one_process": args.cores,
                     "seconds": args.seconds, "rounds": args.rounds, "warmup_seconds": args.warmup,
                     "min_iterations": MIN_ITERATIONS, "paper_global_batches": list(paper_batches),
                     "statistic": "median over rounds (best also given)"},
        "launches": threads_seen,
        "fused_vs_split": summary.fused_vs_split(runs, args.configs, args.cores),
        "data_parallel": summary.data_parallel(runs, cases, units, args.cores),
        "sixteen_nodes": summary.paper(runs, args.configs, paper_batches),
        "formulas": FORMULAS,
        "determinism_note": DETERMINISM_NOTE,
        "failures": failures,
        "runs": [{"unit": key[0], "kind": key[1], "config": key[2], "batch": key[3], "rounds": value}
                 for key, value in runs.items()],
    }


def main(argv: Optional[Sequence[str]] = None, prog: str = "gankit bench scaling") -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv, prog)
    args.argv = argv
    log = elapsed_logger()

    report = run_benchmark(args, log)
    text = markdown_report(report)
    os.makedirs(args.out, exist_ok=True)
    paths = [os.path.join(args.out, "results.json")] + ([args.json] if args.json else [])
    for path in paths:
        with open(path, "w") as f:
            json.dump(report, f, indent=2)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(text + "\n")
    print(text if args.markdown else plain_summary(report))
    log(f"wrote {', '.join(paths)} and {os.path.join(args.out, 'results.md')}")
    # Failure only when nothing was measured at all; a skipped MPI part is reported, not fatal.
    return 0 if report["fused_vs_split"] or report["data_parallel"] else 1
