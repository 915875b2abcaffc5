"""From timed runs to the report's figures: per framework the median and best
iterations/s over the rounds, GFLOP/s and what else ran meanwhile; per config the ratio
gankit ÷ the faster of PyTorch and JAX."""
from __future__ import annotations

import statistics
from typing import List

from .configs import CONFIGS, minimal_flops

COMPARED = ("torch", "jax")  # the frameworks gankit's ratio is taken against


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
        # One barrier between the threads just before each run (None at 1 thread).
        "barrier_us_per_round": [r.get("barrier_us") for r in runs],
        "barrier_us": median_or_none([r.get("barrier_us") for r in runs]),
    }


def median_or_none(values):
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def compare(rows: List[dict]) -> dict:
    """gankit ÷ the faster of torch and JAX, from the medians; and the same ratio taken
    round by round (each round's runs are close in time) as a check on noise."""
    by_framework = {r["framework"]: r for r in rows}
    bf16 = bf16_ratios(by_framework)
    others = [by_framework[f] for f in COMPARED if f in by_framework]
    if "gankit" not in by_framework or not others:
        return {"ratio": None, "against": None, **bf16}
    ours = by_framework["gankit"]
    fastest = max(others, key=lambda r: r["median_its"])
    rounds = min(len(ours["its_per_round"]), *(len(o["its_per_round"]) for o in others))
    paired = [ours["its_per_round"][i] / max(o["its_per_round"][i] for o in others) for i in range(rounds)]
    return {"ratio": ours["median_its"] / fastest["median_its"], "against": fastest["framework"],
            "paired_ratio_median": statistics.median(paired) if paired else None,
            "paired_ratio_min": min(paired) if paired else None,
            "paired_ratio_max": max(paired) if paired else None, **bf16}


def bf16_ratios(by_framework: dict) -> dict:
    """gankit_bf16 ÷ torch_bf16 and ÷ gankit's own fp32, from the medians, where measured."""
    ours = by_framework.get("gankit_bf16")
    if ours is None:
        return {}
    ratio = lambda other: ours["median_its"] / by_framework[other]["median_its"] \
        if other in by_framework else None  # noqa: E731
    return {"bf16_ratio_vs_torch_bf16": ratio("torch_bf16"), "bf16_ratio_vs_gankit_fp32": ratio("gankit")}
