"""Throughput of one full GAN training iteration: gankit next to NumPy, PyTorch and JAX.

    gankit bench speed                       # 4 configs x 1 and 2 threads, ~6 minutes
    gankit bench speed --quick               # 1-1.5 minutes
    gankit bench speed --configs mnist64 --threads 2 --frameworks gankit,torch --json out.json

One iteration (k=1) is a discriminator step on a real batch of B rows and B fakes G(z),
then a generator step on B fresh noise rows with the non-saturating loss, Adam on both
(lr 1e-4, betas 0.5/0.999, eps 1e-8), leaky ReLU 0.2 hidden, the same Glorot-uniform
starting weights and the same fixed random real batch in every framework.

How it measures, and why:
- each framework runs in its own persistent worker process per thread count, so thread
  pools and settings fixed at import (JAX) cannot leak between frameworks;
- every worker warms up each config first (JIT compilation, first-touch allocations);
- then, round after round, each worker in turn runs the config for --seconds, in an
  order rotated each round, after a short pause that lets the previous worker's spinning
  threads go to sleep: slow drifts in the load of a shared machine hit all frameworks
  alike. The figure is the median over --rounds rounds (the best is reported too);
- the ratio gankit ÷ max(PyTorch, JAX) is taken from the medians of this same run.
GFLOP/s counts the minimal matmul FLOPs of an iteration (speed_configs.FLOP_FORMULA);
the peak is gankit's measured single-core float32 FMA peak times the thread count.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import sys
import time
from typing import Dict, List

from . import _arguments
from ._workers import Worker, WorkerError, is_installed, machine_busy_seconds
from .speed_configs import CONFIGS, DEFAULT_CONFIGS, FLOP_FORMULA, minimal_flops
from .speed_report import machine_info, markdown_report

FRAMEWORKS = ("gankit", "numpy", "torch", "jax")
COMPARED = ("torch", "jax")  # the frameworks gankit's ratio is taken against


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gankit bench speed", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="configs:\n" + "\n".join(f"  {c.name:9s} {c.describe()}" + (f" ({c.note})" if c.note else "")
                                         for c in CONFIGS.values()))
    parser.add_argument("--configs", type=_arguments.config_names, default=None,
                        help="comma-separated config names, or 'all' (default: toy2d,digits,mnist64,mnist256)")
    parser.add_argument("--threads", type=_arguments.positive_ints, default=[1, 2],
                        help="thread counts, comma-separated (default: 1,2)")
    parser.add_argument("--frameworks", type=lambda text: _arguments.names(text, FRAMEWORKS), default=list(FRAMEWORKS),
                        help="comma-separated from gankit,numpy,torch,jax (default: all; "
                             "ones not installed are reported and skipped)")
    parser.add_argument("--seconds", type=float, default=None,
                        help="length of one measurement (default: 1.0; --quick: 0.2)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="measurements per framework and config; the median is reported "
                             "(default: 7; --quick: 3)")
    parser.add_argument("--warmup", type=float, default=None,
                        help="warm-up seconds per framework and config (default: 1.0; --quick: 0.2)")
    parser.add_argument("--quick", action="store_true",
                        help="short measurements: 3 rounds of 0.2 s, 1-1.5 minutes in all on 2 cores")
    parser.add_argument("--json", metavar="PATH", help="write every number as JSON")
    parser.add_argument("--markdown", metavar="PATH", help="also write the Markdown report to PATH")
    return parser


def parse_args(argv):
    parser = build_parser()
    args = parser.parse_args(argv)
    quick = args.quick
    args.configs = args.configs or list(DEFAULT_CONFIGS)
    args.seconds = args.seconds if args.seconds is not None else (0.2 if quick else 1.0)
    args.rounds = args.rounds if args.rounds is not None else (3 if quick else 7)
    args.warmup = args.warmup if args.warmup is not None else (0.2 if quick else 1.0)
    args.settle = 0.1 if quick else 0.25  # pause before each measurement (spinning threads)
    args.peak_seconds = 0.2 if quick else 0.5
    if args.seconds <= 0 or args.warmup < 0:
        parser.error(f"--seconds must be > 0 and --warmup >= 0, got {args.seconds} and {args.warmup}")
    if args.rounds < 1:
        parser.error(f"--rounds: expected a positive integer, got {args.rounds}")
    return args


# -- running the workers ---------------------------------------------------------------
def jax_cpus(threads: int):
    """The CPUs JAX's worker is pinned to: `threads` of them when the machine has more
    (XLA sizes its pools from the CPUs it may use, and has no thread-count setting after
    import), else none: with as many threads as cores JAX keeps its default."""
    usable = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    return usable[:threads] if threads < len(usable) else None


def start_workers(frameworks, threads: int, status: Dict[str, str], log) -> Dict[str, Worker]:
    """One worker per installed framework at this thread count (see jax_cpus for JAX)."""
    workers = {}
    for name in frameworks:
        if status.get(name, "ok").startswith(("not installed", "failed to start")):
            continue
        if not is_installed(name):
            status[name] = "not installed"
            log(f"{name}: not installed, skipped")
            continue
        try:
            workers[name] = Worker(name, threads, pin_cpus=jax_cpus(threads) if name == "jax" else None)
        except WorkerError as exc:
            status[name] = f"failed to start: {exc}"
            log(f"{name}: {status[name]}")
    return workers


def measure_peak(workers: Dict[str, Worker], seconds: float) -> float:
    """Single-core FMA peak, measured in the gankit worker (or here if gankit is not benchmarked)."""
    if "gankit" in workers:
        try:
            return workers["gankit"].request(60 + 4 * seconds, op="peak", seconds=seconds)["gflops"]
        except WorkerError:
            pass  # the benchmark reports the gankit worker's failure; the peak is still needed
    from .speed_gankit import fma_peak_gflops
    return fma_peak_gflops(seconds)


def measure_config(workers: Dict[str, Worker], config_name: str, args, status, log) -> Dict[str, List[dict]]:
    """Warm every worker up on the config, then `rounds` interleaved timed runs each."""
    runs: Dict[str, List[dict]] = {}
    for name, worker in list(workers.items()):
        try:
            reply = worker.request(300 + 10 * args.warmup, op="prepare", config=config_name,
                                   warmup=args.warmup, seed=0)
            runs[name] = []
            log(f"  {name}: warmed up ({reply['warmup_iterations']} iterations, first "
                f"{reply['first_call_seconds']:.2f} s)")
        except WorkerError as exc:
            status[name] = f"failed: {exc}"
            log(f"  {name}: {status[name]}")
            if not worker.alive():
                workers.pop(name).close()
    order = list(runs)
    for round_index in range(args.rounds):
        shift = round_index % max(len(order), 1)
        for name in order[shift:] + order[:shift]:
            if name not in runs:
                continue
            time.sleep(args.settle)
            try:
                runs[name].append(timed_run(workers, name, config_name, args.seconds))
            except WorkerError as exc:
                status[name] = f"failed: {exc}"
                log(f"  {name}: {status[name]}")
                del runs[name]
                if not workers[name].alive():
                    workers.pop(name).close()
    for worker in workers.values():
        try:
            worker.request(60, op="drop", config=config_name)
        except WorkerError:
            pass
    return runs


def timed_run(workers: Dict[str, Worker], name: str, config_name: str, seconds: float) -> dict:
    """One measurement by worker `name`, with what else ran meanwhile: the CPU time the
    idle workers used (near zero unless some framework's spinning threads steal cores
    from the one measured) and the CPU time of every other process on the machine."""
    idle = [w for other, w in workers.items() if other != name]
    idle_before, ours_before = sum(w.cpu_seconds() for w in idle), workers[name].cpu_seconds()
    machine_before, start = machine_busy_seconds(), time.perf_counter()
    run = workers[name].request(120 + 20 * seconds, op="run", config=config_name, seconds=seconds)
    wall = time.perf_counter() - start
    idle_cpu = sum(w.cpu_seconds() for w in idle) - idle_before
    ours = workers[name].cpu_seconds() - ours_before
    run["idle_workers_cpu_seconds"] = idle_cpu
    run["other_jobs_cores"] = max(0.0, machine_busy_seconds() - machine_before - idle_cpu - ours) / wall
    return run


# -- turning runs into figures -----------------------------------------------------------
def summarise(config_name: str, threads: int, framework: str, runs: List[dict]) -> dict:
    rates = [r["iterations"] / r["seconds"] for r in runs]
    cores = [r["cpu_seconds"] / r["seconds"] for r in runs]
    median = statistics.median(rates)
    flops = minimal_flops(CONFIGS[config_name])
    return {
        "config": config_name, "threads": threads, "framework": framework,
        "its_per_round": rates, "median_its": median, "best_its": max(rates),
        "spread": (max(rates) - min(rates)) / median,
        "median_gflops": median * flops * 1e-9, "best_gflops": max(rates) * flops * 1e-9,
        "cpu_cores_used": statistics.median(cores),
        "iterations_per_round": [r["iterations"] for r in runs],
        # CPU time the other (idle) workers used during the timed runs, per second of run.
        "idle_workers_cpu_fraction": max(r["idle_workers_cpu_seconds"] / r["seconds"] for r in runs),
        # Cores busy with other jobs on the machine while this framework was timed.
        "other_jobs_cores": statistics.median(r["other_jobs_cores"] for r in runs),
    }


def compare(rows: List[dict]) -> dict:
    """gankit ÷ the faster of torch and JAX, from the medians; and the same ratio taken
    round by round (each round's runs are close in time) as a check on noise."""
    by_framework = {r["framework"]: r for r in rows}
    others = [by_framework[f] for f in COMPARED if f in by_framework]
    if "gankit" not in by_framework or not others:
        return {"ratio": None, "against": None}
    ours = by_framework["gankit"]
    fastest = max(others, key=lambda r: r["median_its"])
    rounds = min(len(ours["its_per_round"]), *(len(o["its_per_round"]) for o in others))
    paired = [ours["its_per_round"][i] / max(o["its_per_round"][i] for o in others) for i in range(rounds)]
    return {"ratio": ours["median_its"] / fastest["median_its"], "against": fastest["framework"],
            "paired_ratio_median": statistics.median(paired) if paired else None,
            "paired_ratio_min": min(paired) if paired else None,
            "paired_ratio_max": max(paired) if paired else None}


def run_benchmark(args, log) -> dict:
    status: Dict[str, str] = {name: "ok" for name in args.frameworks}
    setups, versions, peaks, results, comparisons = {}, {}, [], [], []
    load_start = os.getloadavg()
    for threads in args.threads:
        log(f"{threads} thread(s): starting workers")
        workers = start_workers(args.frameworks, threads, status, log)
        try:
            for name, worker in workers.items():
                setups.setdefault(name, {})[threads] = worker.hello["thread_setup"]
                versions.update(worker.hello["versions"])
            peaks.append(measure_peak(workers, args.peak_seconds))
            for config_name in args.configs:
                log(f"{config_name}, {threads} thread(s):")
                runs = measure_config(workers, config_name, args, status, log)
                rows = [summarise(config_name, threads, name, runs[name])
                        for name in args.frameworks if runs.get(name)]
                results.extend(rows)
                comparisons.append({"config": config_name, "threads": threads, **compare(rows)})
            peaks.append(measure_peak(workers, args.peak_seconds))
        finally:
            for worker in workers.values():
                worker.close()
    peak = max(peaks)
    for row in results:  # the best peak seen in the run: less disturbed by other load
        row["fraction_of_peak"] = row["median_gflops"] / (peak * row["threads"])
    return {
        "benchmark": "gankit bench speed",
        "command": "gankit bench speed " + shlex.join(args.argv),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "machine": {**machine_info(), "load_average_start": load_start, "load_average_end": os.getloadavg()},
        "versions": versions,
        "frameworks": {name: {"status": status[name], "thread_setup": setups.get(name, {})}
                       for name in args.frameworks},
        "settings": {"configs": args.configs, "threads": args.threads, "seconds": args.seconds,
                     "rounds": args.rounds, "warmup_seconds": args.warmup, "settle_seconds": args.settle,
                     "statistic": "median over rounds (best also given)"},
        "fma_peak_gflops_per_core": peak,
        "fma_peak_measurements": peaks,
        "flops": {"formula": FLOP_FORMULA,
                  "per_iteration": {name: minimal_flops(CONFIGS[name]) for name in args.configs},
                  "networks": {name: CONFIGS[name].describe() for name in args.configs}},
        "results": results,
        "comparisons": comparisons,
    }


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    args.argv = argv

    start = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - start:6.1f} s] {message}", file=sys.stderr, flush=True)

    report = run_benchmark(args, log)
    text = markdown_report(report)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    return 0 if any(r["framework"] == "gankit" for r in report["results"]) or \
        "gankit" not in args.frameworks else 1
