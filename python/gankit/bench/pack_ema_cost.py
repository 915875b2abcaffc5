"""What packing and generator averaging cost per training iteration, next to the plain GAN.

    gankit bench pack_ema_cost               # ring's default networks, 1 and 2 threads
    gankit bench pack_ema_cost --rounds 9 --seconds 1

One iteration is what `gankit bench speed` times (k=1: a D step on B real and B fake rows,
a G step on B noise rows, Adam on both, non-saturating loss), here with the ring's default
networks (gankit.cli.DEFAULTS["ring"]) at batch 256. Variants run round-robin, each for
--seconds per round, so load drifts hit all alike; the report gives the median
iterations/s over rounds and each variant's ratio to the plain GAN measured in the same
rounds. Packing makes D's batch m times shorter (its first layer m times wider); averaging
adds one pass over G's parameters per generator step.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import gankit as gk

from ..cli import DEFAULTS

VARIANTS = {"plain": dict(pack=1, ema=None), "ema 0.999": dict(pack=1, ema=0.999),
            "pack 2": dict(pack=2, ema=None), "pack 4": dict(pack=4, ema=None),
            "pack 4 + ema": dict(pack=4, ema=0.999)}


def build(pack, ema, recipe, seed=0):
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
    recipe, batch = DEFAULTS["ring"], 256
    x = gk.datasets.ring(n=batch, seed=0)
    print(f"ring networks G {recipe['g_hidden']} {recipe['g_activation']}, "
          f"D {recipe['d_hidden']} {recipe['d_activation']}, "
          f"batch {batch}, kernel {gk.build_info()['kernel']}, {args.rounds} rounds of {args.seconds} s")
    print("| threads | variant | it/s (median) | ÷ plain (median of per-round ratios) |")
    print("|---:|---|---:|---:|")
    for threads in (int(t) for t in args.threads.split(",")):
        gk.set_num_threads(threads)
        gans = {name: build(recipe=recipe, **v) for name, v in VARIANTS.items()}
        rates = {name: [] for name in VARIANTS}
        for _ in range(args.rounds):
            for name, gan in gans.items():
                rates[name].append(iterations_per_second(gan, batch, args.seconds, x))
        for name in VARIANTS:
            ratio = statistics.median(np.array(rates[name]) / np.array(rates["plain"]))
            print(f"| {threads} | {name} | {statistics.median(rates[name]):.0f} | {ratio:.3f} |")
    return 0
