"""Throughput of one full GAN training iteration: gankit next to NumPy, PyTorch and JAX.

    gankit bench speed                       # 4 configs x 1 and 2 threads, ~6 minutes
    gankit bench speed --quick               # 1-1.5 minutes
    gankit bench speed --configs mnist64 --threads 2 --frameworks gankit,torch --json out.json

One iteration (k=1) is a discriminator step on a real batch of B rows and B fakes G(z),
then a generator step on B fresh noise rows with the non-saturating loss, Adam on both
(lr 1e-4, betas 0.5/0.999, eps 1e-8), leaky ReLU 0.2 hidden, the same Glorot-uniform
starting weights and the same fixed random real batch in every framework.

How it measures, and why:
- each framework runs in its own persistent worker process per thread count, so thread
  pools and settings fixed at import (JAX) cannot leak between frameworks;
- every worker warms up each config first (JIT compilation, first-touch allocations);
- then, round after round, each worker in turn runs the config for --seconds, in an
  order rotated each round, after a short pause that lets the previous worker's spinning
  threads go to sleep: slow drifts in the load of a shared machine hit all frameworks
  alike. The figure is the median over --rounds rounds (the best is reported too);
- the ratio gankit ÷ max(PyTorch, JAX) is taken from the medians of this same run.
GFLOP/s counts the minimal matmul FLOPs of an iteration (configs.FLOP_FORMULA);
the peak is gankit's measured single-core float32 FMA peak times the thread count.

Modules: configs (the networks, their initial state, the FLOP count), gankit, numpy,
torch and jax (one iteration in each framework), worker (the worker process), client
(the parent's handle on one), running (workers per thread count, warm-up, the rounds),
summary (medians and ratios), report (the Markdown report), options (the command line),
command (main).
"""
from .command import main

__all__ = ["main"]
