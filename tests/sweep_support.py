"""Calls for tests/test_sweeps.py's sweeps. They live in a module of their own (not the
test file) so that worker processes import them by name: spawned workers, Dask's
included, start with this process's sys.path, which has tests/ on it under pytest."""
from __future__ import annotations

import os
import signal

import numpy as np

import gankit as gk

DATA = gk.datasets.ring(n=2000, seed=0)


def train_small(config: dict) -> dict:
    """A short training run of config's seed and loss: its per-iteration losses and the
    samples of fixed noise, every bit of which depends on the seed."""
    gan = gk.GAN(gk.MLP([2, 16, 16, 2]), gk.MLP([2, 16, 16, 1]), g_loss=config["g_loss"], seed=config["seed"])
    history = gan.fit(DATA, batch_size=64, max_iter=config.get("max_iter", 30))
    z = np.random.default_rng(7).standard_normal((50, 2)).astype(np.float32)
    return {"config": config, "d_loss": history["d_loss"].tolist(), "g_loss": history["g_loss"].tolist(),
            "samples": gan.sample(50, z=z).tolist()}


def kill_worker() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def train_after_killing_first_worker(config: dict) -> dict:
    """train_small, but a config with a "marker" path kills the process it runs in the
    first time (no file there yet): a worker lost mid-sweep, whose call succeeds on retry."""
    marker = config.get("marker")
    if marker is not None and not os.path.exists(marker):
        with open(marker, "w"):
            pass
        kill_worker()
    return train_small({k: v for k, v in config.items() if k != "marker"})


def always_kill_worker(config) -> None:
    kill_worker()


def fail_for_seed_1(config: dict) -> dict:
    if config["seed"] == 1:
        raise ValueError("seed 1 refused on purpose")
    return {"seed": config["seed"]}


def threads_seen(_config) -> dict:
    """The core's thread count and the OpenMP/BLAS environment where the call ran."""
    return {"core_threads": gk.get_num_threads(),
            "env": {name: os.environ.get(name) for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")},
            "pid": os.getpid()}
