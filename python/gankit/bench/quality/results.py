"""results.json: every run's record with the configuration, the recipes, the paper's
numbers, versions and machine. It is rewritten atomically after each finished run, so
an interrupted benchmark keeps what it has done.
"""
from __future__ import annotations

import datetime
import importlib.metadata
import json
import math
import os
import platform
from typing import List, Optional, Sequence

import numpy as np

import gankit as gk

from ..._atomic import atomic_write_bytes
from .._machine import cpu_model
from . import paper
from .running import mode_scores
from .setup import BASE_RECIPES, ROW_DEFAULTS, ROWS, cli_recipe
from .summary import summarize

# Real data scored as the runs are: this many fresh points drawn with a seed no run uses.
REFERENCE_SEED = 10**6


def now() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")




def environment() -> dict:
    """Versions, build and machine, so a reader knows what produced the numbers."""
    try:
        matplotlib = importlib.metadata.version("matplotlib")
    except importlib.metadata.PackageNotFoundError:
        matplotlib = None
    return {"gankit": gk.__version__, "build_info": gk.build_info(), "python": platform.python_version(),
            "numpy": np.__version__, "matplotlib": matplotlib, "cpu_model": cpu_model(),
            "logical_cores": os.cpu_count(), "platform": platform.platform()}


def reference_scores(dataset: str, eval_samples: int) -> dict:
    """What a perfect generator would score (up to sampling noise): real data."""
    return mode_scores(gk.datasets.load(dataset, n=eval_samples, seed=REFERENCE_SEED), dataset)


def recipes(datasets: Sequence[str]) -> dict:
    """The recipe tables as this run used them."""
    return {"base": {d: BASE_RECIPES[d] for d in datasets}, "row_defaults": ROW_DEFAULTS,
            "rows": {row.name: {"base": row.base, "overrides": dict(row.overrides), "paper": row.paper}
                     for row in ROWS},
            "cli_defaults": {d: cli_recipe(d) for d in datasets}}


def new_results(command: str, config: dict) -> dict:
    """The document before any run has finished."""
    return {"benchmark": "quality", "status": "running", "command": command,
            "started": now(), "finished": None, "duration_seconds": None,
            "environment": environment(), "config": config, "recipes": recipes(config["datasets"]),
            "paper": paper.as_dict(),
            "reference": {d: reference_scores(d, config["eval_samples"]) for d in config["datasets"]},
            "runs_total": config["runs_total"], "runs": [], "summary": [], "figures": [], "notes": []}


def update_runs(results: dict, records: Sequence[Optional[dict]]) -> None:
    """The finished records (in spec order) and their summary."""
    results["runs"] = [r for r in records if r is not None]
    results["summary"] = summarize(results["runs"])


def plain(value):
    """JSON-ready: tuples as lists, NumPy numbers as Python ones, non-finite floats as None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def write_json(path: str, results: dict) -> None:
    text = json.dumps(plain(results), separators=(",", ":"), allow_nan=False)
    atomic_write_bytes(path, (text + "\n").encode())


def read_json(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        results = json.load(f)
    if results.get("benchmark") != "quality":
        raise ValueError(f"{path}: not the results of `gankit bench quality`")
    return results


def failures(results: dict) -> List[dict]:
    return [r for r in results["runs"] if r["error"] is not None]
