"""GAN.fit: the alternating loop of Goodfellow et al. (2014), Algorithm 1 (k
discriminator steps, then one generator step) over the core's d_step/g_step, with stop
rules, a divergence guard, checkpoints and progress. Each step is a single call into
C++ (in one process), or a shard's gradients, their exchange and the update
(data-parallel over MPI, gankit.distributed); this loop only draws batch indices and
keeps the record."""
from __future__ import annotations

import math
import sys
import time
import warnings
from typing import Callable, Iterable, Optional

import numpy as np

from . import _validation as check
from .distributed import DataParallel, LocalSteps
from .history import History
from .stopping import StopRules


def fit(gan, X, *, batch_size: int, d_steps: int, max_iter: int, min_loss: Optional[float],
        min_loss_on: str, equilibrium_tol: Optional[float], window: int, checkpoint,
        checkpoint_every: int, progress: bool, callbacks: Iterable[Callable], resume,
        comm=None, check_replicas: int = 0) -> History:
    """Train `gan` on the rows of X. GAN.fit documents the arguments and holds their
    defaults; with `comm` (an mpi4py communicator) the steps run data-parallel over its
    ranks (gankit.distributed)."""
    data = check.float32_rows(X, "X", gan.data_dim)
    batch_size = check.count(batch_size, "batch_size")
    if batch_size > len(data):
        raise ValueError(f"batch_size: expected at most the number of data rows ({len(data)}), got {batch_size}")
    if batch_size % gan.pack:
        raise ValueError(f"batch_size: expected a multiple of pack={gan.pack} (D judges packs of "
                         f"{gan.pack} samples), got {batch_size}")
    d_steps = check.integer(d_steps, "d_steps", low=1)
    rules = StopRules(max_iter, min_loss, min_loss_on, equilibrium_tol, window)
    checkpoint_every = check.integer(checkpoint_every, "checkpoint_every", low=1)
    checkpoint = None if checkpoint is None else check.path(checkpoint, "checkpoint")
    if resume is not None:
        resume = check.path(resume, "resume")
    callbacks = check.callables(callbacks, "callbacks")
    check_replicas = check.integer(check_replicas, "check_replicas", low=0)
    if comm is None:
        if check_replicas:
            raise ValueError("check_replicas: only used with comm (data-parallel training), "
                             f"got {check_replicas} without a communicator")
        steps = LocalSteps(gan, data)
    else:
        steps = DataParallel(check.communicator(comm, "comm"), gan, data, batch_size, check_replicas)
    if resume is not None:
        steps.on_root(lambda: gan.resume(resume))
    steps.start()

    history = gan.history
    sampler = gan.batch_rng
    guard = _DivergenceGuard(gan)
    reporter = _Progress(rules.max_iter, len(history)) if progress and steps.is_root else None
    time_offset = float(history["time"][-1]) if len(history) else 0.0
    start = time.perf_counter()
    reason = rules.reason_to_stop(history)
    iteration_open = False
    try:
        while reason is None:
            guard.snapshot()
            iteration_open = True
            d_loss = d_real = d_fake = 0.0
            for _ in range(d_steps):
                step_loss, step_real, step_fake = steps.d_step(sampler.integers(0, len(data), batch_size))
                d_loss += step_loss / d_steps
                d_real += step_real / d_steps
                d_fake += step_fake / d_steps
            g_loss = steps.g_step(batch_size)
            d_loss, g_loss, d_real, d_fake, seconds = steps.iteration_values(
                (d_loss, g_loss, d_real, d_fake, time_offset + time.perf_counter() - start))
            bad = [name for name, v in (("d_loss", d_loss), ("g_loss", g_loss)) if not math.isfinite(v)]
            if not guard.state_is_finite():
                bad.append("the parameters or optimizer state")
            if bad:
                guard.restore()
                iteration_open = False
                warnings.warn(f"training diverged at iteration {len(history) + 1}: {' and '.join(bad)} "
                              "became non-finite; the parameters of the last finite step are restored",
                              RuntimeWarning, stacklevel=3)
                reason = "diverged"
                break
            history.append(d_loss, g_loss, d_real, d_fake, seconds)
            iteration_open = False
            iteration = len(history)
            steps.after_iteration(iteration)
            if steps.any(any(cb(iteration, _record(history), gan) for cb in callbacks)):
                reason = "callback"
            if checkpoint is not None and iteration % checkpoint_every == 0:
                steps.on_root(lambda: gan.save(checkpoint))
            if reporter is not None:
                reporter.update(history)
            if reason is None:
                reason = rules.reason_to_stop(history)
    except BaseException as exc:
        # KeyboardInterrupt, ConcurrentUseError, MemoryError...: an iteration cut short
        # is undone, so the GAN is exactly at the end of its last recorded iteration and
        # a later save or fit continues as if nothing had happened. Data-parallel, the
        # other ranks cannot go on without this one: the job is aborted.
        if iteration_open:
            guard.restore()
        steps.abort(exc)
        raise
    history.stop_reason = reason
    if checkpoint is not None:
        steps.on_root(lambda: gan.save(checkpoint))
    if reporter is not None:
        reporter.finish(history)
    return history


def _record(history: History) -> dict:
    return {name: float(history.last(name, 1)[0]) for name in history.keys()}


class _DivergenceGuard:
    """Keeps the GAN's state_dict (without the history, which only grows: its length is
    enough) at the start of the current iteration, so an iteration that diverged or was
    interrupted can be undone exactly with load_state_dict. fit keeps that state finite:
    it refuses non-finite parameters at the start and undoes any iteration after which
    they are not. One copy per iteration, into buffers allocated once."""

    def __init__(self, gan):
        self._gan = gan
        live = gan.state_dict(history=False)
        # Views of the C++ buffers: they stay valid (and current) for the whole run.
        self._arrays = {key: value for key, value in live.items() if isinstance(value, np.ndarray)}
        if not self.state_is_finite():
            raise ValueError("GAN: expected finite parameters and optimizer state before training, "
                             "got NaN or Inf (written through a parameter view?)")
        self._saved = {key: view.copy() for key, view in self._arrays.items()}
        self.snapshot()

    def state_is_finite(self) -> bool:
        return all(np.isfinite(view).all() for view in self._arrays.values())

    def snapshot(self) -> None:
        state = self._gan.state_dict(history=False)
        for key, saved in self._saved.items():
            np.copyto(saved, state[key])
        self._scalars = {key: value for key, value in state.items() if key not in self._saved}

    def restore(self) -> None:
        self._gan.load_state_dict({**self._scalars, **self._saved})


class _Progress:
    """One line about once a second: iteration, losses, D outputs, speed, time left."""

    def __init__(self, max_iter: int, start_iter: int, stream=None, interval: float = 1.0):
        self.max_iter, self.start_iter = max_iter, start_iter
        self.stream = stream or sys.stderr
        self.interval = interval
        self.t0 = time.perf_counter()
        self.last_print = -math.inf

    def update(self, history: History, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self.last_print < self.interval:
            return
        self.last_print = now
        it = len(history)
        done = it - self.start_iter
        rate = done / max(now - self.t0, 1e-9)
        left = (self.max_iter - it) / rate if rate > 0 else math.inf
        r = {name: float(history.last(name, 1)[0]) for name in ("d_loss", "g_loss", "d_real", "d_fake")}
        print(f"it {it:>7}/{self.max_iter}  d_loss {r['d_loss']:.4f}  g_loss {r['g_loss']:.4f}  "
              f"D(x) {r['d_real']:.3f}  D(G(z)) {r['d_fake']:.3f}  {rate:,.0f} it/s  "
              f"{_duration(left)} left", file=self.stream, flush=True)

    def finish(self, history: History) -> None:
        if len(history):
            self.update(history, force=True)
        print(f"stopped: {history.stop_reason} after {len(history)} iterations "
              f"({_duration(time.perf_counter() - self.t0)})", file=self.stream, flush=True)


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
