"""Soak test: train for a set wall time through repeated crashes, then prove the result
is bitwise what an uninterrupted run gives.

    python benchmarks/soak.py --minutes 10                 # SIGKILL workers at random
    python benchmarks/soak.py --minutes 10 --mode resume   # save -> load -> resume in-process

--mode kill (default): a worker process trains a GAN with fit(checkpoint=...,
checkpoint_every=K); after a random while (up to --kill-after seconds) it is killed
with SIGKILL, whatever it is doing (a step, a save, a rename), and a new worker resumes
from the checkpoint file, until --minutes have passed. A last worker then resumes and
finishes cleanly at the next checkpoint. --mode resume does the same without killing:
segments of random length, each ending in a save and each starting from a fresh GAN,
alternately GAN.load(path) and GAN(...).fit(resume=path).

Then a fresh GAN trains the same number of iterations in one uninterrupted fit, and the
two are compared bitwise: both networks' parameters and optimizer state, the optimizer
step counts, the noise and batch RNG states, and the history (all columns but wall
time). Exit status 0 only if everything matches and no temporary file is left behind.
The summary says how many workers were killed, how many checkpoints were written (or
begun: a kill may cut the last one short), and how long the reference run took.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=10.0, help="wall time of the interrupted phase (default 10)")
    p.add_argument("--mode", choices=("kill", "resume"), default="kill",
                   help="kill: SIGKILL worker processes at random; resume: save/load/resume in-process")
    p.add_argument("--checkpoint-every", type=int, default=500, help="iterations between checkpoints (default 500)")
    p.add_argument("--kill-after", type=float, default=5.0,
                   help="a worker is killed after a random 0.1..this many seconds of training (default 5)")
    p.add_argument("--seed", type=int, default=0, help="seed of data, weights, noise, batches and kill times")
    p.add_argument("--hidden", default="128,128", help="hidden sizes of both networks (default 128,128)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--d-steps", type=int, default=1)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--workdir", default=None, help="where the checkpoint goes (default: a temporary folder)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON as well")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--finish", action="store_true", help=argparse.SUPPRESS)
    return p


# -- the run both phases share ---------------------------------------------------------------
def make_gan(args):
    import gankit as gk
    hidden = [int(h) for h in args.hidden.split(",")]
    opt = gk.Adam(lr=args.lr, beta1=0.5)
    return gk.GAN(gk.MLP([2, *hidden, 2]), gk.MLP([2, *hidden, 1]), seed=args.seed,
                  d_optimizer=opt, g_optimizer=opt)


def make_data(args):
    import gankit as gk
    return gk.datasets.ring(n=50_000, seed=args.seed)


def fit(gan, data, args, max_iter, **kwargs):
    return gan.fit(data, batch_size=args.batch_size, d_steps=args.d_steps, max_iter=max_iter, **kwargs)


def fingerprint(gan) -> dict:
    """Everything that determines how the run continues (GAN.state_dict but the
    wall-clock column and the stop reason), as comparable values."""
    state = gan.state_dict()
    state["batch_rng_state"] = gan.batch_rng.bit_generator.state  # drawn or not yet
    return {key: value.tobytes() if isinstance(value, np.ndarray) else
            json.dumps(value, sort_keys=True) if isinstance(value, dict) else value
            for key, value in state.items() if key not in ("history.time", "history.stop_reason")}


# -- a worker (a separate process, killed at random) ---------------------------------------------
def run_worker(args) -> int:
    """Resume from the checkpoint if there is one and train, checkpointing every K
    iterations, until killed; with --finish, stop cleanly at the next checkpoint."""
    path = os.path.join(args.workdir, "checkpoint.gk")
    gan, data = make_gan(args), make_data(args)
    resume = path if os.path.exists(path) else None
    if resume:
        gan.resume(resume)
    start = gan.iteration
    print(f"ready {start}", flush=True)
    every = args.checkpoint_every

    def report(iteration, record, gan):
        if iteration % every == 0:
            print(f"saving {iteration}", flush=True)
        return False

    target = (start // every + 1) * every if args.finish else 2**62
    fit(gan, data, args, target, checkpoint=path, checkpoint_every=every, callbacks=[report])
    return 0


def worker_command(args, finish=False):
    command = [sys.executable, os.path.abspath(__file__), "--worker", "--workdir", args.workdir,
               "--seed", str(args.seed), "--hidden", args.hidden, "--batch-size", str(args.batch_size),
               "--d-steps", str(args.d_steps), "--lr", repr(args.lr),
               "--checkpoint-every", str(args.checkpoint_every)]
    return command + (["--finish"] if finish else [])


def interrupted_by_kills(args, deadline, rng) -> dict:
    stats = {"workers": 0, "killed": 0, "checkpoints_written": 0, "killed_before_any_save": 0}
    while time.monotonic() < deadline:
        worker = subprocess.Popen(worker_command(args), stdout=subprocess.PIPE, text=True)
        stats["workers"] += 1
        ready = worker.stdout.readline()
        if not ready.startswith("ready"):
            raise RuntimeError(f"a worker failed to start (exit {worker.wait()})")
        resumed_from = int(ready.split()[1])
        time.sleep(min(rng.uniform(0.1, args.kill_after), max(0.0, deadline - time.monotonic())))
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        stats["killed"] += 1
        saves = [int(line.split()[1]) for line in worker.stdout.read().splitlines() if line.startswith("saving")]
        worker.stdout.close()
        # "saving N" is printed just before the save of iteration N: the last may have
        # been cut short by the kill, the file then keeps the one before.
        stats["checkpoints_written"] += len(saves)
        stats["killed_before_any_save"] += not saves
        if saves and saves[0] != resumed_from + args.checkpoint_every - resumed_from % args.checkpoint_every:
            raise RuntimeError(f"a worker resumed at {resumed_from} but first saved {saves[0]}")
    # A last worker resumes and stops cleanly at the next checkpoint: its save is the
    # final state, written by a live process (which also clears dead writers' leftovers).
    final = subprocess.run(worker_command(args, finish=True), capture_output=True, text=True)
    if final.returncode != 0:
        raise RuntimeError(f"the finishing worker failed:\n{final.stderr}")
    stats["workers"] += 1
    stats["checkpoints_written"] += final.stdout.count("saving")
    return stats


# -- in-process save -> load -> resume ------------------------------------------------------------
def interrupted_by_resumes(args, deadline, rng) -> dict:
    import gankit as gk
    path = os.path.join(args.workdir, "checkpoint.gk")
    data = make_data(args)
    stats = {"segments": 0, "checkpoints_written": 0, "loads": 0, "resumes": 0}
    gan, done = make_gan(args), 0
    while True:
        last = time.monotonic() >= deadline
        segment = args.checkpoint_every if last else int(rng.integers(1, 3 * args.checkpoint_every))
        fit(gan, data, args, done + segment, checkpoint=path, checkpoint_every=args.checkpoint_every)
        every = args.checkpoint_every
        stats["checkpoints_written"] += (done + segment) // every - done // every + 1  # + the final save
        done += segment
        stats["segments"] += 1
        if last:
            return stats
        if stats["segments"] % 2:  # a new object either way: nothing survives in memory
            gan = gk.GAN.load(path)
            stats["loads"] += 1
        else:
            gan = make_gan(args)
            gan.resume(path)
            stats["resumes"] += 1


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.worker:
        return run_worker(args)
    if args.checkpoint_every < 1 or args.minutes < 0:
        raise SystemExit("soak: --checkpoint-every must be >= 1 and --minutes >= 0")
    import gankit as gk
    workdir = tempfile.TemporaryDirectory(prefix="gankit-soak-") if args.workdir is None else None
    if workdir is not None:
        args.workdir = workdir.name
    os.makedirs(args.workdir, exist_ok=True)
    path = os.path.join(args.workdir, "checkpoint.gk")
    if os.path.exists(path):
        os.remove(path)
    rng = np.random.default_rng(args.seed)
    info = gk.build_info()
    print(f"soak: {args.minutes:g} min, mode {args.mode}, seed {args.seed}, ring, hidden {args.hidden}, "
          f"batch {args.batch_size}, k={args.d_steps}, checkpoint every {args.checkpoint_every}; "
          f"kernel {info['kernel']}, {info['num_threads']} threads", flush=True)

    start = time.monotonic()
    deadline = start + 60.0 * args.minutes
    if args.mode == "kill":
        stats = interrupted_by_kills(args, deadline, random.Random(args.seed))
    else:
        stats = interrupted_by_resumes(args, deadline, rng)
    interrupted_s = time.monotonic() - start
    leftovers = [n for n in os.listdir(args.workdir) if n.endswith(".tmp")]
    soaked = gk.GAN.load(path)
    iterations = soaked.iteration

    t0 = time.perf_counter()
    reference = make_gan(args)
    fit(reference, make_data(args), args, iterations)
    reference_s = time.perf_counter() - t0

    mine, theirs = fingerprint(soaked), fingerprint(reference)
    differing = sorted(k for k in mine if mine[k] != theirs[k])
    identical = not differing and not leftovers
    summary = {"mode": args.mode, "minutes": args.minutes, "interrupted_phase_s": round(interrupted_s, 1),
               **stats, "iterations": iterations, "reference_run_s": round(reference_s, 1),
               "temporary_files_left": len(leftovers), "bitwise_identical": not differing,
               "differing": differing}
    print(f"  interrupted phase: {interrupted_s:.1f} s, " + ", ".join(f"{k.replace('_', ' ')} {v}"
                                                                   for k, v in stats.items()))
    print(f"  iterations in the final checkpoint: {iterations}")
    print(f"  uninterrupted reference run of {iterations} iterations: {reference_s:.1f} s")
    print(f"  temporary files left behind: {len(leftovers)}")
    if differing:
        print(f"  RESULT: DIFFERENT from the uninterrupted run in {', '.join(differing)}")
    else:
        print("  RESULT: bitwise identical to the uninterrupted run (parameters, optimizer state and "
              "steps, noise and batch RNG states, history)")
    if args.json:
        print(json.dumps(summary))
    if workdir is not None:
        workdir.cleanup()
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
