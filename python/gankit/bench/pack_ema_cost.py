"""What packing and generator averaging cost per training iteration, next to the plain GAN.

    gankit bench pack_ema_cost               # ring's default networks, 1 and 2 threads
    gankit bench pack_ema_cost --rounds 9 --seconds 1

One iteration is what `gankit bench speed` times (k=1: a D step on B real and B fake rows,
a G step on B noise rows, Adam on both, non-saturating loss), here with the ring's default
networks (gankit.cli.DEFAULTS["ring"]) at batch 256. Variants run round-robin, each for
--seconds per round, so load drifts hit all alike; the report gives the median
iterations/s over rounds and each variant's ratio to the plain GAN measured in the same
rounds. At a batch of 256 samples packing makes D's batch m times shorter (its first layer
m times wider); at 256 packs, the batch `gankit train --pack M` and the quality
benchmark's PacGAN rows use (as PacGAN's code does), G makes m times the samples while D
judges as many inputs as the plain GAN's. Averaging adds one pass over G's parameters
per generator step.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import gankit as gk

from ..cli import DEFAULTS

BATCH = 256
# name -> (pack, ema, samples per step)
VARIANTS = {"plain": dict(pack=1, ema=None, batch=BATCH), "ema 0.999": dict(pack=1, ema=0.999, batch=BATCH),
            "pack 2": dict(pack=2, ema=None, batch=BATCH), "pack 4": dict(pack=4, ema=None, batch=BATCH),
            "pack 4 + ema": dict(pack=4, ema=0.999, batch=BATCH),
            "pack 2, 256 packs": dict(pack=2, ema=None, batch=2 * BATCH),
            "pack 4, 256 packs": dict(pack=4, ema=None, batch=4 * BATCH)}


def build(pack, ema, recipe, seed=0, batch=BATCH):
    """The variant's GAN (`batch` is the caller's, a multiple of pack)."""
    G = gk.MLP([recipe["noise_dim"], *recipe["g_hidden"], 2], activation=recipe["g_activation"])
    D = gk.MLP([2 * pack, *recipe["d_hidden"], 1], activation=recipe["d_activation"])
    return gk.GAN(G, D, pack=pack, ema=ema, seed=seed)


def iterations_per_second(gan, batch, seconds, x):
    gan.d_step(x)
    gan.g_step(batch_size=batch)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        gan.d_step(x)
        gan.g_step(batch_size=batch)
        count += 1
    return count / (time.perf_counter() - start)


def main(argv=None, prog: str = "gankit bench pack_ema_cost") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--threads", default="1,2")
    args = parser.parse_args(argv)
    recipe = DEFAULTS["ring"]
    real = {v["batch"]: gk.datasets.ring(n=v["batch"], seed=0) for v in VARIANTS.values()}
    print(f"ring networks G {recipe['g_hidden']} {recipe['g_activation']}, "
          f"D {recipe['d_hidden']} {recipe['d_activation']}, "
          f"batch {BATCH} samples unless said, kernel {gk.build_info()['kernel']}, "
          f"{args.rounds} rounds of {args.seconds} s")
    print("| threads | variant | samples per step | it/s (median) | ÷ plain (median of per-round ratios) |")
    print("|---:|---|---:|---:|---:|")
    for threads in (int(t) for t in args.threads.split(",")):
        gk.set_num_threads(threads)
        gans = {name: build(recipe=recipe, **v) for name, v in VARIANTS.items()}
        rates = {name: [] for name in VARIANTS}
        for _ in range(args.rounds):
            for name, gan in gans.items():
                batch = VARIANTS[name]["batch"]
                rates[name].append(iterations_per_second(gan, batch, args.seconds, real[batch]))
        for name, v in VARIANTS.items():
            ratio = statistics.median(np.array(rates[name]) / np.array(rates["plain"]))
            print(f"| {threads} | {name} | {v['batch']} | {statistics.median(rates[name]):.0f} | {ratio:.3f} |")
    return 0
