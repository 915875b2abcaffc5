"""Running the benchmark: one run (build the GAN its RunSpec describes, train it, score
fresh samples) and many runs in parallel single-threaded worker processes, each record
handed back as soon as its run ends.

A run's scores depend only on its RunSpec: the scored samples are generated from a fixed
noise matrix of the run's own seed stream (losses.running.eval_noise), never from the
GAN's noise generator, and nothing is filtered.
"""
from __future__ import annotations

import dataclasses
import sys
import time
import warnings
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

import gankit as gk

from ...sweeps import Backend
from .._parallel import run_tasks
from ..losses.running import eval_noise
from .setup import Recipe, RunSpec

HISTORY_FIELDS = ("d_loss", "g_loss", "d_real", "d_fake")
# Training values reported as means over the last this-many iterations of a run.
TAIL_ITERATIONS = 100
# Runs of this seed keep their scored samples, for the figures.
FIGURE_SEED = 0
SAMPLE_DECIMALS = 4


def adam(recipe: Recipe, steps: int, lr: float) -> gk.Adam:
    """The optimiser of a network updated `steps` times at rate `lr` (G's recipe.lr, or
    D's recipe.lr * d_lr_ratio): constant, or on the recipe's schedule to lr *
    final_lr_ratio at the last update."""
    if recipe.schedule == "constant":
        return gk.Adam(lr=lr, beta1=recipe.beta1)
    return gk.Adam(lr=lr, beta1=recipe.beta1, schedule=recipe.schedule, schedule_steps=steps,
                   final_lr=lr * recipe.final_lr_ratio)


def build_gan(spec: RunSpec, data_dim: int) -> gk.GAN:
    """The untrained GAN of `spec`: MLPs with the recipe's activations, D judging packs of
    `pack` samples."""
    r = spec.recipe
    G = gk.MLP([r.noise_dim, *r.g_hidden, data_dim], activation=r.g_activation)
    D = gk.MLP([data_dim * r.pack, *r.d_hidden, 1], activation=r.d_activation)
    return gk.GAN(G, D, noise_dim=r.noise_dim, g_loss=spec.g_loss,
                  d_optimizer=adam(r, r.max_iter * r.d_steps, r.lr * r.d_lr_ratio),
                  g_optimizer=adam(r, r.max_iter, r.lr),
                  seed=spec.seed, pack=r.pack, ema=r.ema)


def mode_scores(samples: np.ndarray, dataset: str) -> dict:
    """PacGAN's three scores (gankit.metrics.mode_scores) as plain numbers."""
    s = gk.metrics.mode_scores(samples, gk.datasets.mixture(dataset))
    return {"modes_captured": int(s.modes_captured), "modes_total": int(s.modes_total),
            "high_quality_fraction": float(s.high_quality_fraction), "reverse_kl": float(s.reverse_kl)}


def tail_means(history) -> dict:
    """Mean loss and D outputs over the run's last TAIL_ITERATIONS iterations."""
    n = len(history)
    if n == 0:
        return {}
    return {name: float(np.mean(history[name][-TAIL_ITERATIONS:])) for name in HISTORY_FIELDS}


def rounded(samples: np.ndarray) -> list:
    return np.round(samples.astype(np.float64), SAMPLE_DECIMALS).tolist()


def run_one(spec: RunSpec) -> dict:
    """Train the GAN of `spec` and score eval_samples fresh samples of it (and of G
    itself when generator averaging is on). Returns its record for results.json."""
    r = spec.recipe
    data = gk.datasets.load(spec.dataset, n=r.n, seed=spec.seed)
    gan = build_gan(spec, data.shape[1])
    z_eval = eval_noise(spec.seed, spec.eval_samples, r.noise_dim)
    wall, cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = gan.fit(data, batch_size=r.batch_size, d_steps=r.d_steps, max_iter=r.max_iter)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    samples = gan.sample(spec.eval_samples, z=z_eval)
    raw = gan.sample(spec.eval_samples, z=z_eval, averaged=False) if r.ema is not None else None
    keep = spec.seed == FIGURE_SEED
    return {
        "spec": spec.as_dict(), "label": spec.label(),
        "stop_reason": history.stop_reason, "iterations": len(history),
        "train_seconds": wall, "train_cpu_seconds": cpu,
        "final": mode_scores(samples, spec.dataset),
        "final_raw": None if raw is None else mode_scores(raw, spec.dataset),
        "training_tail": tail_means(history),
        "warnings": [str(w.message) for w in caught], "error": None,
        "samples": rounded(samples) if keep else None,
        "samples_raw": rounded(raw) if keep and raw is not None else None,
    }


def failed_record(spec: RunSpec, error: str) -> dict:
    """The record of a run that raised: no scores, the traceback kept."""
    return {"spec": spec.as_dict(), "label": spec.label(), "stop_reason": "error", "iterations": 0,
            "train_seconds": None, "train_cpu_seconds": None, "final": None, "final_raw": None,
            "training_tail": {}, "warnings": [], "error": error, "samples": None, "samples_raw": None}


def cost(spec: RunSpec) -> float:
    """A rough relative cost (weights x rows x steps), to start the longest runs first."""
    r = spec.recipe

    def weights(sizes):
        return sum(a * b for a, b in zip(sizes, sizes[1:]))
    g, d = weights([r.noise_dim, *r.g_hidden, 2]), weights([2 * r.pack, *r.d_hidden, 1])
    return r.max_iter * r.batch_size * ((r.d_steps + 1) * (g + 2 * d / r.pack))


def training_key(spec: RunSpec) -> tuple:
    """What decides a run's numbers: everything in its spec but the row's name and where
    its recipe came from."""
    return (spec.dataset, spec.seed, dataclasses.replace(spec.recipe, source=""), spec.eval_samples,
            spec.g_loss)


def same_runs(specs: Sequence[RunSpec]) -> Dict[int, List[int]]:
    """Each distinct run's first spec index -> the later indices that train exactly like
    it (a row whose recipe equals another's, such as "gankit default" when the defaults
    are "GAN + averaging"), in spec order."""
    first_of: Dict[tuple, int] = {}
    copies: Dict[int, List[int]] = {}
    for i, spec in enumerate(specs):
        first = first_of.setdefault(training_key(spec), i)
        copies.setdefault(first, [])
        if first != i:
            copies[first].append(i)
    return copies


def shared_record(record: dict, spec: RunSpec, trained: RunSpec) -> dict:
    """`record` of the run `trained`, filed under `spec`, which trains identically."""
    return {**record, "spec": spec.as_dict(), "label": spec.label(), "same_run_as": trained.label()}


def run_all(specs: Sequence[RunSpec], backend: Backend, on_record: Callable[[int, dict], None],
            log=sys.stderr, work: Callable = run_one) -> None:
    """Run every spec on `backend` (gankit.sweeps: here, spawned processes or Dask
    workers, one core thread per run), the costliest first; on_record(index in specs,
    record) is called in this process as each run ends. A spec that trains exactly like
    an earlier one is not trained again: it gets that run's record, marked same_run_as."""
    copies = same_runs(specs)
    distinct = list(copies)
    order = sorted(range(len(distinct)), key=lambda j: -cost(specs[distinct[j]]))
    started = time.perf_counter()

    def finished(done: int, j: int, record: dict) -> None:
        i = distinct[j]
        also = "".join(f"; also {specs[k].row}" for k in copies[i])
        print(f"[{done}/{len(distinct)} {time.perf_counter() - started:6.0f}s] {specs[i].label()}: "
              f"{describe(record)}{also}", file=log, flush=True)
        on_record(i, record)
        for k in copies[i]:
            on_record(k, shared_record(record, specs[k], specs[i]))

    run_tasks([(work, failed_record, specs[i]) for i in distinct], order, backend, finished)


def describe(record: dict) -> str:
    """One line about a finished run, for the progress log."""
    if record["error"] is not None:
        return "FAILED (traceback in results.json)"
    f = record["final"]
    text = (f"{record['stop_reason']} after {record['iterations']} it, {record['train_seconds']:.1f} s: "
            f"modes {f['modes_captured']}/{f['modes_total']}, high quality "
            f"{100 * f['high_quality_fraction']:.1f}%, reverse KL {f['reverse_kl']:.3f}")
    raw: Optional[dict] = record.get("final_raw")
    if raw:
        text += f" (G itself: modes {raw['modes_captured']}, {100 * raw['high_quality_fraction']:.1f}%)"
    return text
