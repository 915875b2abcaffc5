"""Data-parallel scaling on one machine: gankit's fused steps next to the split steps
that data-parallel training runs, and `fit(comm=...)`'s step over R MPI ranks x T
threads next to one process with all threads, at the same global batch; then, on
paper, what 16 nodes would send and at what global batch that hides behind compute.

    gankit bench scaling                      # toy2d, digits, mnist64, mnist256: ~5 minutes on 2 cores
    gankit bench scaling --quick --configs mnist64
    gankit bench scaling --layouts 1x2,2x1 --large-batch 4096 --markdown
    gankit bench scaling --out benchmarks/results/scaling --markdown   # the committed results

What it measures, each a median over --rounds rounds:
1. one process, all threads: iterations/s with the fused steps (Adam inside the backward
   GEMM) and the split steps (update=False, then apply_update), no communication;
2. for each layout R x T (default: 1x1 and every R x T filling the cores), DataParallel
   over `mpiexec -n R` with OMP_NUM_THREADS=T, at each config's batch and at
   --large-batch (default 1024: at a batch of 64, 16 ranks would have 4 rows each), next
   to fit's one-process loop with all threads: iterations/s, samples/s and the share of
   time in the gradient exchange (DataParallel.seconds_in_reduction);
3. computed, not measured: gradient bytes per iteration, the Allgather volume per rank
   over 16 nodes and its time at 10 and 100 Gb/s, next to the per-rank compute of a
   B/16-row shard timed here, and the global batch at which the two are equal.

How: every round starts each launch in turn, in an order rotated each round, as a fresh
process (the one-process worker, or an mpiexec job per layout) with a timeout; the
worker times whole iterations, its count agreed across ranks, and writes JSON back.
Without mpi4py or mpiexec part 2 is reported as skipped and the rest still runs.

Modules: iterations (the four ways of running an iteration, and their timing), worker
(the process the driver starts), driver (what to measure, launching, the rounds), paper
(the 16-node arithmetic), summary (medians and ratios), report (Markdown), options (the
command line), command (main).
"""
from .command import main

__all__ = ["main"]
