"""What a scaling worker times: one training iteration (k=1: a D step, then a G step) of
a speed-benchmark config's networks, in one of four ways.

    fused          gan.d_step(x); gan.g_step(batch_size=B): Adam fused into the
                   backward GEMM (the speed benchmark's iteration, fixed real batch)
    split          the same with update=False then apply_update("D"/"G"): gradients
                   and update as two calls, no communication (the data-parallel step
                   without its exchange); bitwise the same result as fused
    local          fit's one-process step (distributed.LocalSteps): B rows drawn from
                   a data matrix by the GAN's batch RNG, then the fused steps
    data_parallel  fit's data-parallel step (distributed.DataParallel) over the ranks
                   of MPI.COMM_WORLD: shard, gradients, exchange + ordered mean, update

Every kind starts from the same Glorot weights (speed.configs.initial_state's seeds)
and Adam settings as the speed benchmark, so its figures compare with that benchmark's.
"""
from __future__ import annotations

import math
import time
from typing import Callable, Optional

import numpy as np

from ..speed.client import machine_busy_seconds
from ..speed.configs import BETA1, BETA2, EPS, CONFIGS, LEARNING_RATE, SLOPE, initial_state

KINDS = ("fused", "split", "local", "data_parallel")
# Rows of the data matrix the local and data_parallel kinds draw their batches from (or
# the batch, if larger): enough that a batch's rows are scattered, as in training.
DATA_ROWS = 4096
# Timed iterations at least, however slow: a median of rates needs whole iterations.
MIN_ITERATIONS = 5


def build_gan(config_name: str):
    """The config's GAN, from the speed benchmark's initial weights, seed 0."""
    import gankit as gk
    config = CONFIGS[config_name]
    g_weights, d_weights, _ = initial_state(config, seed=0)
    G = gk.MLP(list(config.g_sizes), activation="leaky_relu", output=config.g_output, slope=SLOPE)
    D = gk.MLP(list(config.d_sizes), activation="leaky_relu", slope=SLOPE)
    G.set_weights(g_weights)
    D.set_weights(d_weights)
    adam = gk.Adam(lr=LEARNING_RATE, beta1=BETA1, beta2=BETA2, eps=EPS)
    return gk.GAN(G, D, g_loss="non_saturating", d_optimizer=adam, g_optimizer=adam, seed=0)


def real_rows(config_name: str, rows: int) -> np.ndarray:
    """Fixed random data in [-1, 1) of the config's width, the same on every rank."""
    rng = np.random.default_rng(12345)
    return rng.uniform(-1, 1, (rows, CONFIGS[config_name].data_dim)).astype(np.float32)


class Iteration:
    """One iteration of `kind` per call; .steps is the DataParallel (or None), whose
    seconds_in_reduction the timing reads."""

    def __init__(self, kind: str, config_name: str, batch: int, comm=None):
        from ...distributed import DataParallel, LocalSteps
        if kind not in KINDS:
            raise ValueError(f"kind: expected one of {KINDS}, got {kind!r}")
        if (kind == "data_parallel") != (comm is not None):
            raise ValueError("a communicator is needed by data_parallel and used by nothing else")
        self.kind, self.batch = kind, batch
        self.gan = build_gan(config_name)
        self.steps = None
        if kind in ("fused", "split"):
            self.real = real_rows(config_name, batch)
        else:
            self.data = real_rows(config_name, max(DATA_ROWS, batch))
            if kind == "local":
                self.steps = LocalSteps(self.gan, self.data)
            else:
                self.steps = DataParallel(comm, self.gan, self.data, batch)
                self.steps.start()  # rank 0's state on every rank; threads kept as set
        self._call: Callable[[], None] = getattr(self, "_" + kind)

    def __call__(self) -> None:
        self._call()

    def _fused(self) -> None:
        self.gan.d_step(self.real)
        self.gan.g_step(batch_size=self.batch)

    def _split(self) -> None:
        self.gan.d_step(self.real, update=False)
        self.gan.apply_update("D")
        self.gan.g_step(batch_size=self.batch, update=False)
        self.gan.apply_update("G")

    def _local(self) -> None:
        # fit's loop: indices from the batch RNG, then the steps object's two steps.
        self.steps.d_step(self.gan.batch_rng.integers(0, len(self.data), self.batch))
        self.steps.g_step(self.batch)

    _data_parallel = _local  # the same loop; DataParallel shards and exchanges

    @property
    def reduction_seconds(self) -> float:
        return float(getattr(self.steps, "seconds_in_reduction", 0.0))


def _agree(comm, value):
    """Rank 0's value on every rank (the ranks must run the same number of steps)."""
    return value if comm is None else comm.bcast(value, root=0)


def time_iteration(iteration: Iteration, seconds: float, warmup: float, comm=None) -> dict:
    """Warm up for ~`warmup` seconds, then time a number of iterations sized from the
    warm-up's rate to last ~`seconds` (at least MIN_ITERATIONS). Data-parallel, every
    rank runs the counts rank 0 chose, starts after a barrier, and the figures gathered
    to rank 0 are per rank (None is returned elsewhere)."""
    start = time.perf_counter()
    iteration()  # first call: allocations, thread team, workspace growth
    first_call = time.perf_counter() - start
    warm_count = _agree(comm, max(2, int(warmup / max(first_call, 1e-6))))
    start = time.perf_counter()
    for _ in range(warm_count):
        iteration()
    per_iteration = (time.perf_counter() - start) / warm_count
    count = _agree(comm, max(MIN_ITERATIONS, math.ceil(seconds / max(per_iteration, 1e-7))))
    if comm is not None:
        comm.Barrier()
    reduction_before = iteration.reduction_seconds
    busy_before, cpu_before, start = machine_busy_seconds(), time.process_time(), time.perf_counter()
    for _ in range(count):
        iteration()
    wall = time.perf_counter() - start
    cpu, busy_after = time.process_time() - cpu_before, machine_busy_seconds()
    mine = {"wall_seconds": wall, "cpu_seconds": cpu,
            "reduction_seconds": iteration.reduction_seconds - reduction_before}
    everyone = [mine] if comm is None else comm.gather(mine, root=0)
    if everyone is None:
        return None
    # The slowest rank's wall time is the iteration rate every rank ends up with.
    slowest = max(r["wall_seconds"] for r in everyone)
    all_cpu = sum(r["cpu_seconds"] for r in everyone)
    return {
        "iterations": count, "warmup_iterations": 1 + warm_count, "first_call_seconds": first_call,
        "wall_seconds": slowest,
        "iterations_per_second": count / slowest,
        "cpu_seconds_per_rank": [r["cpu_seconds"] for r in everyone],
        "reduction_seconds_per_rank": [r["reduction_seconds"] for r in everyone],
        # Rank 0's reading of the whole machine, less all ranks' own CPU time: other jobs.
        "other_jobs_cores": max(0.0, (busy_after - busy_before - all_cpu) / wall),
    }


def run_task(task: dict, comm: Optional[object] = None) -> Optional[dict]:
    """Build the task's iteration and time it; the timing and the task, or None off rank 0."""
    iteration = Iteration(task["kind"], task["config"], task["batch"], comm)
    timing = time_iteration(iteration, task["seconds"], task["warmup"], comm)
    return None if timing is None else {**task, **timing}
