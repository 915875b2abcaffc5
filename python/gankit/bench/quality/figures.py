"""One PNG per dataset and row (needs matplotlib: pip install "gankit[plot]"): the scored
samples of seed 0 at the end of training, over the mode centres (with their 3-std
high-quality circles) and a few real points. Drawn from results.json, so --replot can
redraw them.
"""
from __future__ import annotations

import io
import os
import re
from typing import Dict, List, Optional

import numpy as np

import gankit as gk

from ..._atomic import atomic_write_bytes
from ...plotting import _pyplot
from .running import FIGURE_SEED

DPI = 80
REAL_POINTS = 500
REAL_SEED = 10**6 + 1  # real points drawn for the figures only
HIGH_QUALITY_STDS = 3
# The view: the mixture's extent plus this margin; samples outside it are counted.
MARGIN = {"ring": 0.5, "grid": 1.5}


def file_name(dataset: str, row: str) -> str:
    return f"{dataset}-{re.sub(r'[^a-z0-9]+', '-', row.lower()).strip('-')}.png"


def _limits(centers: np.ndarray, margin: float):
    low, high = centers.min(axis=0) - margin, centers.max(axis=0) + margin
    return (low[0], high[0]), (low[1], high[1])


def _outside(samples: np.ndarray, xlim, ylim) -> int:
    inside = ((samples[:, 0] >= xlim[0]) & (samples[:, 0] <= xlim[1])
              & (samples[:, 1] >= ylim[0]) & (samples[:, 1] <= ylim[1]))
    return int(np.sum(~inside))


def _scores_text(scores: dict) -> str:
    return (f"modes {scores['modes_captured']}/{scores['modes_total']}, high quality "
            f"{100 * scores['high_quality_fraction']:.1f}%, rKL {scores['reverse_kl']:.2f}")


def _panel(ax, plt, samples: np.ndarray, real: np.ndarray, mixture, dataset: str, title: str) -> None:
    xlim, ylim = _limits(mixture.centers, MARGIN.get(dataset, 1.0))
    ax.scatter(samples[:, 0], samples[:, 1], s=3, color="tab:blue", alpha=0.5, linewidths=0,
               label=f"generated ({len(samples)})")
    ax.scatter(real[:, 0], real[:, 1], s=2, color="black", alpha=0.8, linewidths=0,
               label=f"real ({len(real)})")
    for cx, cy in mixture.centers:
        ax.add_patch(plt.Circle((cx, cy), HIGH_QUALITY_STDS * mixture.std, fill=False, color="tab:red",
                                linewidth=0.8))
    ax.scatter(mixture.centers[:, 0], mixture.centers[:, 1], marker="+", s=20, color="tab:red",
               linewidths=0.8, label="mode centres, 3-std circles")
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    outside = _outside(samples, xlim, ylim)
    ax.set_title(title + (f"\n({outside} samples outside the view)" if outside else ""), fontsize=9)
    ax.legend(loc="upper right", fontsize=7, markerscale=2, framealpha=0.8)


def plot_run(record: dict, out_dir: str) -> Optional[dict]:
    """The figure of one seed-0 run, or None if it has no samples."""
    if not record.get("samples"):
        return None
    plt = _pyplot()
    spec = record["spec"]
    dataset, row = spec["dataset"], spec["row"]
    mixture = gk.datasets.mixture(dataset)
    real = gk.datasets.load(dataset, n=REAL_POINTS, seed=REAL_SEED)
    panels = [(np.asarray(record["samples"]), record["final"], "averaged generator"
               if record.get("samples_raw") else "generator")]
    if record.get("samples_raw"):
        panels.append((np.asarray(record["samples_raw"]), record["final_raw"], "G itself"))
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 5.2), squeeze=False)
    for ax, (samples, scores, which) in zip(axes[0], panels):
        _panel(ax, plt, samples, real, mixture, dataset, f"{which}: {_scores_text(scores)}")
    fig.suptitle(f"{dataset}, {row}: seed {spec['seed']} after {record['iterations']} iterations",
                 fontsize=11)
    fig.tight_layout()
    name = file_name(dataset, row)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    plt.close(fig)
    atomic_write_bytes(os.path.join(out_dir, name), buffer.getvalue())
    return {"file": name, "caption": f"{dataset}, {row}: the {len(panels[0][0])} scored samples of seed "
                                     f"{spec['seed']} over the mode centres and {REAL_POINTS} real points"}


def draw_all(results: dict, out_dir: str) -> List[Dict[str, str]]:
    """A figure for every dataset and row with a finished seed-0 run; ImportError without
    matplotlib."""
    _pyplot()
    figures = []
    for record in results["runs"]:
        if record["spec"]["seed"] == FIGURE_SEED and record["error"] is None:
            figure = plot_run(record, out_dir)
            if figure:
                figures.append(figure)
    return figures
