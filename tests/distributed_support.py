"""What tests/test_distributed.py runs under `mpiexec -n R`: a small data-parallel
training, then rank 0 writes the result (the state after training, every rank's digest
of its state, the history) to --out as an .npz file.

    mpiexec -n 2 python tests/distributed_support.py --iterations 30 --out result.npz
    ... --checkpoint ck.gk [--resume]        checkpoint every 10 iterations / resume from it
    ... --fail-rank 1 --fail-at 15 --how raise|kill|perturb    make one rank fail mid-run
"""
import argparse
import hashlib
import os
import signal

import numpy as np
from mpi4py import MPI

import gankit as gk
import gankit.distributed


def make_gan(seed: int, ema, diverge=False):
    G = gk.MLP([3, 24, 24, 2])
    D = gk.MLP([4, 24, 24, 1])  # pack 2
    # diverge: SGD steps so large that the losses overflow within a few iterations.
    optimizer = (lambda: gk.SGD(lr=1e6)) if diverge else (lambda: None)
    return gk.GAN(G, D, seed=seed, pack=2, ema=ema, d_optimizer=optimizer(), g_optimizer=optimizer())


def state_digest(gan) -> bytes:
    """Of everything but the history's wall-clock times."""
    digest = hashlib.blake2b(digest_size=16)
    state = {k: v for k, v in gan.state_dict().items() if k != "history.time"}
    for key, value in sorted(state.items()):
        digest.update(key.encode())
        digest.update(value.tobytes() if isinstance(value, np.ndarray) else repr(value).encode())
    return digest.digest()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--iterations", type=int, required=True)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--d-steps", type=int, default=2)
    p.add_argument("--seed", type=int, default=4)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--fail-rank", type=int, default=None)
    p.add_argument("--fail-at", type=int, default=None)
    p.add_argument("--how", choices=("raise", "kill", "perturb"), default="raise")
    p.add_argument("--diverge", action="store_true")
    p.add_argument("--exchange", choices=("allgather", "reduce_scatter"), default=None)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    comm = MPI.COMM_WORLD
    if args.exchange is not None:  # force one exchange whatever the rank count
        gk.distributed.ALLGATHER_MAX_RANKS = 1 << 30 if args.exchange == "allgather" else 0
    if args.threads:
        gk.set_num_threads(args.threads)
    X = gk.datasets.ring(n=2048, seed=0)
    gan = make_gan(args.seed, ema=0.9, diverge=args.diverge)

    def fail_on_one_rank(iteration, record, gan):
        if comm.Get_rank() == args.fail_rank and iteration == args.fail_at:
            if args.how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            if args.how == "perturb":  # one rank's weights drift: check_replicas must notice
                gan.D.params[0] += np.float32(1e-3)
                return False
            raise RuntimeError(f"injected failure on rank {args.fail_rank} at iteration {iteration}")
        return False

    history = gan.fit(X, batch_size=args.batch_size, d_steps=args.d_steps, max_iter=args.iterations,
                      comm=comm, check_replicas=5, checkpoint=args.checkpoint, checkpoint_every=10,
                      resume=args.checkpoint if args.resume else None,
                      callbacks=[fail_on_one_rank] if args.fail_rank is not None else ())
    digests = comm.gather(state_digest(gan) + history.stop_reason.encode(), root=0)
    if comm.Get_rank() == 0:
        arrays = {key: value for key, value in gan.state_dict().items() if isinstance(value, np.ndarray)}
        np.savez(args.out, **arrays, digests=np.array(digests), ranks=comm.Get_size(),
                 threads=gk.get_num_threads(), iterations=len(history), stop_reason=history.stop_reason)


if __name__ == "__main__":
    main()
