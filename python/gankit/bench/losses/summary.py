"""From run records to per-variant statistics: mean ± std of the final scores over seeds,
iterations and seconds to the dataset's threshold (runs that never reach it counted as
such), stop reasons, and the early-training numbers of the gradient argument.

Everything here reads only what results.json holds, so a summary can be rebuilt from it.
"""
from __future__ import annotations

import math
from collections import Counter, OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .setup import DatasetSpec


def mean_std(values: Sequence[float]) -> Dict[str, Optional[float]]:
    """Mean and sample standard deviation (ddof=1; None below 2 values) of the finite
    values, with their count; mean None when there are none."""
    finite = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return {"mean": None, "std": None, "n": 0}
    std = float(np.std(finite, ddof=1)) if len(finite) > 1 else None
    return {"mean": float(np.mean(finite)), "std": std, "n": len(finite)}


def time_to_threshold(evals: Sequence[dict], dataset: DatasetSpec) -> Tuple[Optional[int], Optional[float],
                                                                            Optional[float]]:
    """(iteration, training seconds, training CPU seconds) of the first evaluation whose
    scores meet the dataset's threshold, or (None, None, None) if none does."""
    for e in evals:
        if dataset.reached(e):
            cpu = e.get("train_cpu_seconds")
            return int(e["iteration"]), float(e["train_seconds"]), None if cpu is None else float(cpu)
    return None, None, None


def censored_median(values: Sequence[Optional[float]]) -> Optional[float]:
    """The median over all runs where a run that never reached the threshold counts as
    later than any that did (+inf). None (more than half never reached it, so the median
    is beyond the budget) or a number; for an even count, the mean of the two middle
    values, both of which must be finite."""
    if not values:
        return None
    ordered = sorted(math.inf if v is None else float(v) for v in values)
    mid = len(ordered) // 2
    median = ordered[mid] if len(ordered) % 2 else 0.5 * (ordered[mid - 1] + ordered[mid])
    return None if math.isinf(median) else median


def variant_key(record: dict) -> Tuple[str, str, int]:
    spec = record["spec"]
    return spec["dataset"], spec["g_loss"], int(spec["d_steps"])


def summarize_variant(records: Sequence[dict], dataset: DatasetSpec) -> dict:
    """The statistics of one (dataset, g_loss, k) over its seeds. Failed runs are
    counted, and left out of every mean."""
    ok = [r for r in records if r["error"] is None]
    hits = [time_to_threshold(r["evals"], dataset) for r in ok]
    iterations, seconds, cpu_seconds = ([h[i] for h in hits] for i in range(3))
    return {
        "dataset": dataset.name,
        "g_loss": records[0]["spec"]["g_loss"],
        "d_steps": int(records[0]["spec"]["d_steps"]),
        "seeds": [int(r["spec"]["seed"]) for r in records],
        "failed": len(records) - len(ok),
        "final": {m.name: mean_std([r["final"].get(m.name) for r in ok]) for m in dataset.metrics},
        "threshold": {
            "rule": dataset.threshold_text(),
            "reached": sum(i is not None for i in iterations),
            "runs": len(ok),
            "iterations": iterations,
            "seconds": seconds,
            "median_iterations": censored_median(iterations),
            "median_seconds": censored_median(seconds),
            "cpu_seconds": cpu_seconds,
            "median_cpu_seconds": censored_median(cpu_seconds),
        },
        "train_seconds": mean_std([r["train_seconds"] for r in ok]),
        "train_cpu_seconds": mean_std([r.get("train_cpu_seconds") for r in ok]),
        "iterations": mean_std([r["iterations"] for r in ok]),
        "stop_reasons": dict(Counter(r["stop_reason"] for r in records)),
        "early": {
            "iterations": min((r["early"]["iterations"] for r in ok), default=0),
            "d_fake_mean": mean_std([r["early"]["d_fake_mean"] for r in ok]),
            "grad_norm_median": mean_std([r["early"]["grad_norm_median"] for r in ok]),
        },
    }


def summarize(records: Sequence[dict], datasets: Dict[str, DatasetSpec]) -> List[dict]:
    """summarize_variant for every (dataset, g_loss, k), in the order the records come."""
    groups: "OrderedDict[tuple, list]" = OrderedDict()
    for r in records:
        groups.setdefault(variant_key(r), []).append(r)
    return [summarize_variant(rs, datasets[key[0]]) for key, rs in groups.items()]
