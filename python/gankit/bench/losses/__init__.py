"""Benchmark: the minimax generator loss log(1 - D(G(z))) against the non-saturating
-log D(G(z)), measured.

    gankit bench losses                      # the full grid (about half an hour on 2 idle cores)
    gankit bench losses --quick              # a reduced grid, about two minutes
    gankit bench losses --datasets ring --d-steps 1 --seeds 3 --max-iter 2000
    gankit bench losses --replot             # redraw results.md and figures from results.json

For each dataset (the 8-mode ring, the 25-mode grid, scikit-learn's 8x8 digits), each
generator loss, each k (discriminator steps per generator step) and each seed, it trains
a GAN for the dataset's iteration budget (the same for every variant), scoring it along
the way, and writes to --out: results.json (every number, the configuration, versions
and machine), histories.npz (every iteration), results.md (tables) and, with matplotlib,
PNG figures. See benchmarks/README.md for the latest full results. Both losses, and the
argument that the minimax one saturates early in training, are Goodfellow et al. (2014).

Modules: setup (datasets, thresholds, architectures, RunSpec), scoring (training data
and scores), running (one run, many in parallel), probe (the saturation probe),
gradients (each loss and its gradient from the core's kernel), summary (statistics),
results (results.json, histories.npz), report (results.md), figures (PNGs), options
(the command line), command (main).
"""
from .command import main

__all__ = ["main"]
