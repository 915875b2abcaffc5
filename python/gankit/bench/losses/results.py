"""results.json (every number, the configuration, the environment and the datasets'
settings) and histories.npz (every iteration of every run)."""
from __future__ import annotations

import datetime
import importlib.metadata
import io
import json
import math
import os
import platform
from typing import Dict, Sequence

import numpy as np

import gankit as gk

from ..._atomic import atomic_write_bytes
from .._machine import cpu_model
from .scoring import eval_sample_count, real_data_reference
from .setup import DATASETS, Condition, DatasetSpec, Metric, architecture


def _plain(value):
    """JSON-ready: NumPy scalars and arrays as Python values, non-finite floats as None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


def write_json(path: str, results: dict) -> None:
    """results.json; runs keep everything but their per-iteration `history` (in the npz)."""
    slim = dict(results)
    slim["runs"] = [{k: v for k, v in r.items() if k != "history"} for r in results["runs"]]
    text = json.dumps(_plain(slim), separators=(",", ":"), allow_nan=False)
    atomic_write_bytes(path, (text + "\n").encode())


def read_json(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_histories(path: str, runs: Sequence[dict]) -> None:
    """histories.npz: run{i}.{d_loss,g_loss,d_real,d_fake}, i the index in results.json's runs."""
    arrays = {}
    for i, run in enumerate(runs):
        for name, values in (run.get("history") or {}).items():
            arrays[f"run{i}.{name}"] = np.asarray(values, dtype=np.float64)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def environment() -> dict:
    """Versions, build and machine, so a reader knows what produced the numbers."""
    versions = {}
    for name in ("matplotlib", "scikit-learn", "threadpoolctl"):
        try:  # from the installed metadata: importing scikit-learn would take seconds
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": f"{cpu_model()}, {os.cpu_count()} logical cores, {platform.platform()}",
        "python": platform.python_version(), "numpy": np.__version__, "gankit": gk.__version__,
        "build_info": gk.build_info(), "optional": versions,
    }


def dataset_info(cfg: dict, dataset: str) -> dict:
    """What results.json records of a dataset: its budgets in this run, its scores and
    threshold, what real data scores, and the architecture."""
    spec = DATASETS[dataset]
    return {"note": spec.note, "max_iter": cfg["max_iter"][dataset], "eval_every": cfg["eval_every"][dataset],
            "eval_count": eval_sample_count(dataset, cfg["eval_samples"]),
            "threshold": spec.threshold_text(),
            "threshold_conditions": [vars(c) for c in spec.threshold],
            "metrics": [vars(m) for m in spec.metrics],
            "reference": real_data_reference(dataset, cfg["eval_samples"]),
            "architecture": architecture(cfg["arch"], dataset).as_dict()}


def recorded_datasets(results: dict) -> Dict[str, DatasetSpec]:
    """The datasets' scores and thresholds as results.json recorded them, so tables and
    figures redrawn later say what the run used, whatever the code says now."""
    return {name: DatasetSpec(name, tuple(Metric(**m) for m in info["metrics"]),
                              tuple(Condition(**c) for c in info["threshold_conditions"]),
                              max_iter=info["max_iter"], eval_every=info["eval_every"],
                              quick_max_iter=info["max_iter"], quick_eval_every=info["eval_every"],
                              note=info["note"])
            for name, info in results["datasets"].items()}
