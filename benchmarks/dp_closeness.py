"""How close R data-parallel ranks come to one process with the same global batch.

    python benchmarks/dp_closeness.py [--ranks 2] [--iterations 1000]

Trains the ring recipe of `gankit train` (G and D of 3 x 128 ReLU, batch 256, Adam 1e-3
with linear decay, generator averaging) with fit(comm=MPI.COMM_WORLD) under
`mpiexec -n 1` and `mpiexec -n R`, keeps both networks' parameters after 1, 10, 100, ...
iterations, and prints a Markdown table of how far apart they are. Needs
`pip install ".[mpi]"`. docs/scale-out.md quotes its output.
"""
import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np


def train(out: str, iterations: int) -> None:
    """One run under mpiexec; rank 0 writes the parameters at each checkpoint iteration."""
    from mpi4py import MPI

    import gankit as gk
    comm = MPI.COMM_WORLD
    X = gk.datasets.ring(n=50_000, seed=0)
    G = gk.MLP([2, 128, 128, 128, 2], activation="relu")
    D = gk.MLP([2, 128, 128, 128, 1], activation="relu")

    def adam():
        return gk.Adam(lr=1e-3, beta1=0.5, schedule="linear", schedule_steps=8_000, final_lr=0.0)

    gan = gk.GAN(G, D, seed=0, ema=0.999, d_optimizer=adam(), g_optimizer=adam())
    kept = {}

    def keep(iteration, record, gan):
        if iteration in checkpoints(iterations):
            kept[f"after_{iteration}"] = np.concatenate([gan.G.params, gan.D.params])
        return False

    gan.fit(X, batch_size=256, max_iter=iterations, comm=comm, callbacks=[keep])
    if comm.Get_rank() == 0:
        np.savez(out, **kept)


def checkpoints(iterations: int):
    return [n for n in (1, 10, 100, 1_000, 10_000) if n <= iterations]


def launch(ranks: int, out: str, iterations: int) -> None:
    beside = Path(sys.executable).with_name("mpiexec")
    mpiexec = str(beside) if beside.exists() else "mpiexec"
    subprocess.run([mpiexec, "-n", str(ranks), sys.executable, __file__, "--worker", out,
                    "--iterations", str(iterations)], check=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ranks", type=int, default=2)
    p.add_argument("--iterations", type=int, default=1_000)
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return train(args.worker, args.iterations)
    with tempfile.TemporaryDirectory() as folder:
        one, many = os.path.join(folder, "one.npz"), os.path.join(folder, "many.npz")
        launch(1, one, args.iterations)
        launch(args.ranks, many, args.iterations)
        a, b = np.load(one), np.load(many)
        print(f"| iterations | max abs difference | relative L2 difference | parameters not bit-equal |"
              f"  ({args.ranks} ranks vs 1)")
        print("|---:|---:|---:|---:|")
        for n in checkpoints(args.iterations):
            x, y = a[f"after_{n}"], b[f"after_{n}"]
            print(f"| {n:,} | {np.abs(x - y).max():.2g} | {np.linalg.norm(x - y) / np.linalg.norm(x):.2g} "
                  f"| {100 * np.mean(x != y):.1f} % |")


if __name__ == "__main__":
    main()
