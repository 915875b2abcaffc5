"""Running the benchmark's training runs: one run (train with GAN.fit and record along
the way) and many runs in parallel single-threaded worker processes.

A run's numbers depend only on its RunSpec: scoring draws its samples from a fixed noise
matrix (its own stream of the run's seed), never from the GAN's noise, so evaluating
more or less often does not change the training run.
"""
from __future__ import annotations

import math
import sys
import time
import warnings
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

import gankit as gk

from ...sweeps import Backend
from .._parallel import Task, run_tasks
from .scoring import eval_sample_count, make_scorer, training_data
from .setup import RunSpec

HISTORY_FIELDS = ("d_loss", "g_loss", "d_real", "d_fake")
# A second word for the scoring noise's SeedSequence, so it never meets the GAN's streams.
EVAL_STREAM = 0x5C0E
# results.json keeps per-iteration values as means over blocks of this many iterations
# when a run is longer than TRACE_POINTS blocks of 1; histories.npz keeps every iteration.
TRACE_POINTS = 1000
# The keys of an evaluation that are not scores.
EVAL_TIMING = ("iteration", "train_seconds", "train_cpu_seconds")
# Final samples kept for the scatter/image figures.
SAMPLES_KEPT = {"digits": 16}
SAMPLES_KEPT_DEFAULT = 500


def eval_noise(seed: int, n: int, noise_dim: int) -> np.ndarray:
    """The fixed noise every evaluation of a run generates its scored samples from."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, EVAL_STREAM]))
    return rng.standard_normal((n, noise_dim)).astype(np.float32)


class Recorder:
    """The GAN.fit callback: the generator's gradient norm (every iteration up to
    grad_dense, then every grad_every) and the scores every eval_every iterations.

    Time spent here is excluded from the training time it reports (wall-clock and CPU),
    so a run's seconds to threshold do not depend on how often it is scored. On a busy
    machine the CPU seconds are the steadier of the two."""

    def __init__(self, spec: RunSpec, scorer: Callable, z_eval: np.ndarray):
        self.spec, self.scorer, self.z_eval = spec, scorer, z_eval
        self.evals: List[dict] = []
        self.grad_iterations: List[int] = []
        self.grad_norms: List[float] = []
        self.callback_seconds = self.callback_cpu_seconds = 0.0
        self.train_seconds = self.train_cpu_seconds = 0.0
        self.cpu_start = time.process_time()
        self.last_samples: Optional[np.ndarray] = None

    def __call__(self, iteration: int, record: dict, gan) -> bool:
        entered, entered_cpu = time.perf_counter(), time.process_time()
        self.train_seconds = record["time"] - self.callback_seconds
        self.train_cpu_seconds = entered_cpu - self.cpu_start - self.callback_cpu_seconds
        if iteration <= self.spec.grad_dense or iteration % self.spec.grad_every == 0:
            # After the generator step, G's gradient buffer holds that step's gradient.
            self.grad_iterations.append(iteration)
            self.grad_norms.append(float(np.linalg.norm(gan.G.grads.astype(np.float64))))
        if iteration % self.spec.eval_every == 0 or iteration == self.spec.max_iter:
            self.evaluate(iteration, gan)
        self.callback_seconds += time.perf_counter() - entered
        self.callback_cpu_seconds += time.process_time() - entered_cpu
        return False

    def evaluate(self, iteration: int, gan) -> None:
        samples = gan.sample(len(self.z_eval), z=self.z_eval)
        scores = self.scorer(samples)
        self.evals.append({"iteration": iteration, "train_seconds": self.train_seconds,
                           "train_cpu_seconds": self.train_cpu_seconds, **scores})
        self.last_samples = samples


def run_one(spec: RunSpec) -> dict:
    """Train one GAN as `spec` says and return its record (see build_record)."""
    data = training_data(spec.dataset, spec.seed, spec.n_data)
    arch = spec.architecture
    G, D = arch.build(data.shape[1])
    gan = gk.GAN(G, D, noise_dim=arch.noise_dim, g_loss=spec.g_loss,
                 d_optimizer=gk.Adam(lr=arch.lr, beta1=arch.beta1),
                 g_optimizer=gk.Adam(lr=arch.lr, beta1=arch.beta1), seed=spec.seed)
    z_eval = eval_noise(spec.seed, eval_sample_count(spec.dataset, spec.eval_samples), arch.noise_dim)
    recorder = Recorder(spec, make_scorer(spec.dataset), z_eval)
    recorder.evaluate(0, gan)
    start, cpu_start = time.perf_counter(), time.process_time()
    recorder.cpu_start = cpu_start
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = gan.fit(data, batch_size=arch.batch_size, d_steps=spec.d_steps,
                          max_iter=spec.max_iter, callbacks=[recorder])
    wall_seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    if recorder.evals[-1]["iteration"] != len(history):
        recorder.evaluate(len(history), gan)  # a diverged run: score what was restored
    record = build_record(spec, history, recorder, wall_seconds, [str(w.message) for w in caught])
    record["cpu_seconds"] = cpu_seconds
    return record


def build_record(spec: RunSpec, history, recorder: Recorder, wall_seconds: float,
                 warnings_seen: Sequence[str]) -> dict:
    """A run's results: spec, stop reason, iterations, seconds of training (wall-clock
    and CPU, scoring excluded) and of the whole fit (wall; run_one adds its CPU seconds),
    the scores along training (evals), the last scores (final), the gradient norms,
    per-iteration values (history: every iteration, NumPy; trace: block means for
    results.json) and some final samples."""
    columns = {name: history[name] for name in HISTORY_FIELDS}
    kept = SAMPLES_KEPT.get(spec.dataset, SAMPLES_KEPT_DEFAULT)
    final = {k: v for k, v in recorder.evals[-1].items() if k not in EVAL_TIMING}
    return {
        "spec": spec.as_dict(),
        "stop_reason": history.stop_reason,
        "iterations": len(history),
        "train_seconds": recorder.train_seconds,
        "train_cpu_seconds": recorder.train_cpu_seconds,
        "wall_seconds": wall_seconds,
        "warnings": list(warnings_seen),
        "error": None,
        "evals": recorder.evals,
        "final": final,
        "early": early_training(spec, columns, recorder),
        "grad_norm": {"iteration": recorder.grad_iterations, "value": recorder.grad_norms},
        "trace": block_means(columns, TRACE_POINTS),
        "history": columns,
        "samples": np.round(recorder.last_samples[:kept].astype(np.float64), 4).tolist(),
    }


def early_training(spec: RunSpec, columns: Dict[str, np.ndarray], recorder: Recorder) -> dict:
    """Goodfellow et al. (2014)'s saturation argument in two numbers per run, over its
    first grad_dense iterations: how confidently D rejects the fakes (mean D(G(z))) and
    how strong the generator's gradient is (median norm)."""
    first = min(spec.grad_dense, len(columns["d_fake"]))
    norms = [v for it, v in zip(recorder.grad_iterations, recorder.grad_norms) if it <= first]
    return {"iterations": first,
            "d_fake_mean": float(np.mean(columns["d_fake"][:first])) if first else None,
            "grad_norm_median": float(np.median(norms)) if norms else None}


def block_means(columns: Dict[str, np.ndarray], points: int) -> dict:
    """Means of each column over consecutive blocks of `every` iterations (the last block
    may be shorter), `every` the smallest that gives at most `points` blocks; iteration:
    each block's last (1-based)."""
    n = len(next(iter(columns.values())))
    every = max(1, math.ceil(n / points))
    ends = list(range(every, n + 1, every))
    if n and (not ends or ends[-1] != n):
        ends.append(n)
    starts = [0] + ends[:-1]
    out = {"every": every, "iteration": ends}
    for name, values in columns.items():
        out[name] = [float(np.mean(values[start:end])) for start, end in zip(starts, ends)]
    return out


def failed_record(spec: RunSpec, error: str) -> dict:
    """The record of a run that raised: no scores, the traceback kept for the report."""
    return {"spec": spec.as_dict(), "stop_reason": "error", "iterations": 0, "train_seconds": None,
            "train_cpu_seconds": None, "wall_seconds": None, "cpu_seconds": None, "warnings": [],
            "error": error, "evals": [], "final": {},
            "early": {"iterations": 0, "d_fake_mean": None, "grad_norm_median": None},
            "grad_norm": {"iteration": [], "value": []}, "trace": None, "history": None,
            "samples": []}


def cost(spec) -> float:
    """A rough relative cost (multiply-adds), to start the longest tasks first."""
    arch = spec.architecture
    dim = 64 if spec.dataset == "digits" else 2

    def weights(sizes):
        return sum(a * b for a, b in zip(sizes, sizes[1:]))
    g = weights([arch.noise_dim, *arch.generator.hidden, dim])
    d = weights([dim, *arch.discriminator.hidden, 1])
    if isinstance(spec, RunSpec):
        # A D step runs G forward and D forward/backward on 2 batches; a G step all of both.
        return spec.max_iter * arch.batch_size * (spec.d_steps * (g + 4 * d) + 3 * (g + d))
    return 2 * spec.d_steps * arch.batch_size * (g + 4 * d)  # a probe: D steps of two GANs


def describe(record: dict) -> str:
    """One line about a finished task, for the progress log."""
    if record["error"] is not None:
        return "FAILED (traceback in results.json)"
    if "final" in record:
        return record["stop_reason"] + ", " + ", ".join(f"{k} {v:.3g}" for k, v in record["final"].items())
    return (f"D(G(z)) {record['d_fake'][0]:.3f} -> {record['d_fake'][-1]:.2g}, |grad G| minimax "
            f"{record['grad_norm']['minimax'][-1]:.2g}, non-saturating "
            f"{record['grad_norm']['non_saturating'][-1]:.2g}")


def run_all(tasks: Sequence[Task], backend: Backend, log=sys.stderr) -> List[dict]:
    """Every task (work, on_error, spec) run as _parallel.run_tasks runs it on `backend`
    (gankit.sweeps: here, spawned processes or Dask workers, one core thread per run),
    the costliest first; the records come back in task order."""
    records: List[Optional[dict]] = [None] * len(tasks)
    order = sorted(range(len(tasks)), key=lambda i: -cost(tasks[i][2]))
    started = time.perf_counter()

    def finished(done: int, i: int, record: dict) -> None:
        records[i] = record
        print(f"[{done}/{len(tasks)} {time.perf_counter() - started:6.0f}s] {tasks[i][2].label()}: "
              f"{describe(record)}", file=log, flush=True)

    run_tasks(tasks, order, backend, finished)
    return records
