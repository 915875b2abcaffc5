"""`gankit bench speed`: measure every config at every thread count, then print the
Markdown report and write it and the JSON."""
from __future__ import annotations

import json
import os
import shlex
import sys
import time
from typing import Dict

from .._timing import elapsed_logger
from .configs import CONFIGS, FLOP_FORMULA, minimal_flops
from .options import parse_args
from .report import machine_info, markdown_report
from .running import measure_config, measure_peak, start_workers
from .summary import compare, summarise


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
                     "precision": args.precision, "statistic": "median over rounds (best also given)"},
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

    log = elapsed_logger()

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
