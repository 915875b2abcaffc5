"""From run records to the table's statistics: per dataset and row, the mean ± std over
seeds of the final scores (of the averaged generator and, where averaging is on, of G
itself), iterations, training seconds and stop reasons.

It reads only what results.json holds, so a summary can be rebuilt from it (--replot).
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Dict, List, Optional, Sequence

from ..losses.summary import mean_std

SCORES = ("modes_captured", "high_quality_fraction", "reverse_kl")


def score_stats(finals: Sequence[Optional[dict]]) -> Dict[str, dict]:
    """mean, std (ddof=1), n and standard error of each score over the runs that have one."""
    present = [f for f in finals if f]
    out = {}
    for name in SCORES:
        stat = mean_std([f[name] for f in present])
        stat["sem"] = None if stat["std"] is None else stat["std"] / math.sqrt(stat["n"])
        out[name] = stat
    return out


def summarize_row(records: Sequence[dict]) -> dict:
    """The statistics of one (dataset, row) over its seeds."""
    ok = [r for r in records if r["error"] is None]
    first = records[0]
    raw = [r["final_raw"] for r in ok if r.get("final_raw")]
    return {
        "dataset": first["spec"]["dataset"], "row": first["spec"]["row"],
        "seeds": sorted(int(r["spec"]["seed"]) for r in records),
        "failed": len(records) - len(ok),
        "modes_total": next((r["final"]["modes_total"] for r in ok), None),
        "final": score_stats([r["final"] for r in ok]),
        "final_raw": score_stats(raw) if raw else None,
        "iterations": mean_std([r["iterations"] for r in ok]),
        "max_iter": int(first["spec"]["recipe"]["max_iter"]),
        "train_seconds": mean_std([r["train_seconds"] for r in ok]),
        "train_cpu_seconds": mean_std([r["train_cpu_seconds"] for r in ok]),
        "stop_reasons": dict(Counter(r["stop_reason"] for r in records)),
    }


def summarize(records: Sequence[dict]) -> List[dict]:
    """summarize_row for every (dataset, row), in the order the records come."""
    groups: Dict[tuple, List[dict]] = {}
    for r in records:
        groups.setdefault((r["spec"]["dataset"], r["spec"]["row"]), []).append(r)
    return [summarize_row(rs) for rs in groups.values()]
