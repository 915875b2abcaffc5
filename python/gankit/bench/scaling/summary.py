"""From the rounds' timings to the report's figures: medians per task and launch, the
split ÷ fused ratios, each layout next to one process, and the 16-node arithmetic."""
from __future__ import annotations

import statistics
from typing import Dict, List, Sequence

from ..speed.configs import CONFIGS
from .driver import LOCAL, distinct_networks
from .paper import NODES, shard_rows_for, sixteen_nodes


def summarise(runs: List[dict]) -> dict:
    """Median and best iterations/s over the rounds, and per run: the share of the wall
    time the ranks spent in the gradient exchange (mean over ranks, and the rank that
    spent most), the cores the launch kept busy and those other jobs did."""
    rates = [r["iterations_per_second"] for r in runs]
    median = statistics.median(rates)

    def median_of(values):
        return statistics.median(values)

    return {
        "its_per_round": rates, "median_its": median, "best_its": max(rates),
        "spread": (max(rates) - min(rates)) / median,
        "median_seconds_per_iteration": median_of([r["wall_seconds"] / r["iterations"] for r in runs]),
        "reduction_share": median_of([statistics.fmean(r["reduction_seconds_per_rank"]) / r["wall_seconds"]
                                      for r in runs]),
        "reduction_share_max_rank": median_of([max(r["reduction_seconds_per_rank"]) / r["wall_seconds"]
                                               for r in runs]),
        "cpu_cores_busy": median_of([sum(r["cpu_seconds_per_rank"]) / r["wall_seconds"] for r in runs]),
        "other_jobs_cores": median_of([r["other_jobs_cores"] for r in runs]),
        "iterations_per_round": [r["iterations"] for r in runs],
    }


def fused_vs_split(runs: Dict[tuple, List[dict]], configs: Sequence[str], threads: int) -> List[dict]:
    rows = []
    for name in configs:
        batch = CONFIGS[name].batch
        fused, split = runs.get((LOCAL, "fused", name, batch)), runs.get((LOCAL, "split", name, batch))
        if not fused or not split:
            continue
        # Both ran in the same launch each round: the round-by-round ratio is the less noisy.
        paired = [s["iterations_per_second"] / f["iterations_per_second"] for f, s in zip(fused, split)]
        f_sum, s_sum = summarise(fused), summarise(split)
        rows.append({"config": name, "networks": CONFIGS[name].describe(), "batch": batch, "threads": threads,
                     "fused": f_sum, "split": s_sum, "split_over_fused": s_sum["median_its"] / f_sum["median_its"],
                     "split_over_fused_per_round": paired,
                     "split_over_fused_paired_median": statistics.median(paired)})
    return rows


def data_parallel(runs: Dict[tuple, List[dict]], cases, units, threads: int) -> List[dict]:
    out = []
    for case in cases:
        local = runs.get((LOCAL, "local", case.config, case.batch))
        baseline = summarise(local) if local else None
        layouts = []
        for unit in units:
            if not unit.mpi:
                continue
            timed = runs.get((unit.label, "data_parallel", case.config, case.batch))
            if not timed:
                layouts.append({"layout": unit.label, "ranks": unit.ranks, "threads_per_rank": unit.threads,
                                "skipped": "global batch not a multiple of the ranks"
                                if case.batch % unit.ranks else "no measurement (see failures)"})
                continue
            row = summarise(timed)
            row.update({"layout": unit.label, "ranks": unit.ranks, "threads_per_rank": unit.threads,
                        "rows_per_rank": case.batch // unit.ranks,
                        "samples_per_second": row["median_its"] * case.batch,
                        "vs_one_process": row["median_its"] / baseline["median_its"] if baseline else None})
            layouts.append(row)
        out.append({"config": case.config, "global_batch": case.batch,
                    "networks": CONFIGS[case.config].describe().rsplit(", batch", 1)[0],
                    "one_process": None if baseline is None else
                    {**baseline, "threads": threads, "samples_per_second": baseline["median_its"] * case.batch},
                    "layouts": layouts})
    return out


def paper(runs: Dict[tuple, List[dict]], configs: Sequence[str], global_batches: Sequence[int]) -> List[dict]:
    out = []
    for network, sharing in distinct_networks(configs).items():
        shard_seconds = {}
        for batch in global_batches:
            rows = shard_rows_for(batch, NODES)
            timed = runs.get((LOCAL, "split", network, rows))
            if timed:
                shard_seconds[rows] = summarise(timed)["median_seconds_per_iteration"]
        out.append({**sixteen_nodes(network, shard_seconds, global_batches), "configs": sharing})
    return out
