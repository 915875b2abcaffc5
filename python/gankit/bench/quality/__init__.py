"""Benchmark: PacGAN's Table 1 (Lin, Khetan, Fanti, Oh, NeurIPS 2018) reproduced with gankit.

    gankit bench quality                     # ring and grid, every row, 10 seeds
    gankit bench quality --quick             # 3 seeds, otherwise the same
    gankit bench quality --datasets ring --rows GAN,PacGAN2 --seeds 1 --max-iter 500
    gankit bench quality --replot            # redo results.md and figures from results.json

On the ring (8 modes) and the grid (25 modes) it trains, per row and seed, one GAN (the
dataset's base recipe with the row's packing and averaging, or exactly `gankit train`'s
defaults) and scores 2,500 fresh samples: modes captured, high-quality fraction, reverse
KL. Writes to --out: results.json (rewritten after every run), results.md (the table beside
the paper's) and, with matplotlib, a PNG of seed 0's samples per dataset and row.

Modules: setup (datasets, recipes, rows, RunSpec), paper (the published numbers),
running (one run, many in parallel), summary (statistics), results (results.json),
report (results.md), figures (PNGs), options (the command line), command (main).
"""
from .command import main

__all__ = ["main"]
