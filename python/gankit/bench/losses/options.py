"""The command-line options of `gankit bench losses` and the configuration they resolve
to: explicit options, else --quick's, else the defaults."""
from __future__ import annotations

import argparse
import importlib.util
import os
from typing import Dict

from .. import _arguments
from . import __doc__ as _PACKAGE_DOC
from .setup import DATASETS, DEFAULT_D_STEPS, DEFAULT_SEEDS, DIGITS_HELD_OUT, G_LOSSES, QUICK

DEFAULT_OUT = os.path.join("bench-results", "losses")
DEFAULT_EVAL_SAMPLES = 2500
# The generator's gradient norm is kept at every iteration up to --grad-iters, then at
# every GRAD_EVERY-th.
DEFAULT_GRAD_ITERS = 500
GRAD_EVERY = 10
# Discriminator-only steps of the saturation probe (probe.py), full and --quick.
DEFAULT_PROBE_STEPS = 1000
QUICK_PROBE_STEPS = 300


def _per_dataset(text: str) -> Dict[str, int]:
    """"N" (every dataset) or "ring=N,grid=M"; returns {dataset or "*": N}."""
    out: Dict[str, int] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, _, value = part.rpartition("=")
        name = name.strip() or "*"
        if name != "*" and name not in DATASETS:
            raise argparse.ArgumentTypeError(f"unknown dataset {name!r} in {text!r}")
        try:
            number = int(value)
        except ValueError:
            number = 0
        if number < 1:
            raise argparse.ArgumentTypeError(f"expected N or DATASET=N with N a positive integer, got {text!r}")
        out[name] = number
    if not out:
        raise argparse.ArgumentTypeError(f"expected N or DATASET=N,..., got {text!r}")
    return out


def build_parser(prog: str) -> argparse.ArgumentParser:
    budgets = ", ".join(f"{n} {d.max_iter}" for n, d in DATASETS.items())
    p = argparse.ArgumentParser(prog=prog, description=_PACKAGE_DOC.split("\n\n")[0].replace("\n", " "))
    p.add_argument("--datasets", type=lambda text: _arguments.names(text, tuple(DATASETS)), default=None,
                   help="comma-separated; digits needs scikit-learn and is skipped with a note "
                        "without it (default: ring,grid,digits; --quick: ring,grid)")
    p.add_argument("--g-losses", type=lambda text: _arguments.names(text, G_LOSSES), default=list(G_LOSSES),
                   help=f"generator losses to compare (default: {','.join(G_LOSSES)})")
    p.add_argument("--d-steps", type=lambda text: _arguments.positive_ints(text, unique=True), default=None,
                   help="values of k, discriminator steps per generator step (default: "
                        f"{','.join(map(str, DEFAULT_D_STEPS))}; --quick: {','.join(map(str, QUICK['d_steps']))})")
    p.add_argument("--seeds", type=_arguments.positive_int, default=None,
                   help=f"seeds per variant, 0..N-1 (default: {DEFAULT_SEEDS}; --quick: {QUICK['seeds']})")
    p.add_argument("--max-iter", type=_per_dataset, default=None,
                   help=f"iterations per run, N or DATASET=N,... (default: {budgets}; --quick: "
                        + ", ".join(f"{n} {d.quick_max_iter}" for n, d in DATASETS.items()) + ")")
    p.add_argument("--eval-every", type=_per_dataset, default=None,
                   help="score every N iterations, N or DATASET=N,... (default: "
                        + ", ".join(f"{n} {d.eval_every}" for n, d in DATASETS.items()) + "; --quick: "
                        + ", ".join(f"{n} {d.quick_eval_every}" for n, d in DATASETS.items()) + ")")
    p.add_argument("--eval-samples", type=_arguments.positive_int, default=DEFAULT_EVAL_SAMPLES,
                   help=f"generated samples per score (default: {DEFAULT_EVAL_SAMPLES}; digits: at most "
                        f"the {DIGITS_HELD_OUT} held-out images)")
    p.add_argument("--grad-iters", type=_arguments.positive_int, default=DEFAULT_GRAD_ITERS,
                   help=f"record the generator's gradient norm at every iteration up to this one "
                        f"(then every {GRAD_EVERY}th; default: {DEFAULT_GRAD_ITERS})")
    p.add_argument("--probe-steps", type=int, default=None,
                   help=f"discriminator-only steps of the saturation probe, 0 for none (default: "
                        f"{DEFAULT_PROBE_STEPS}; --quick: {QUICK_PROBE_STEPS})")
    _arguments.add_backend_options(p)
    p.add_argument("--quick", action="store_true",
                   help="a reduced grid (ring and grid, k 1 and 5, 2 seeds, short runs): about "
                        "two minutes on 2 cores")
    p.add_argument("--arch", default="cli",
                   help="network architecture per dataset: cli (the networks of `gankit train`) "
                        "or paper (PacGAN's, where this gankit build has its layers); default: cli")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"results folder (default: {DEFAULT_OUT})")
    p.add_argument("--no-plot", action="store_true", help="no figures even if matplotlib is installed")
    p.add_argument("--replot", action="store_true",
                   help="do not train: redraw results.md and the figures from OUT/results.json")
    return p


def resolve(args) -> dict:
    """The run configuration: explicit options, else --quick's, else the defaults."""
    datasets = args.datasets or list(QUICK["datasets"] if args.quick else DATASETS)
    notes = []
    if "digits" in datasets and importlib.util.find_spec("sklearn") is None:
        datasets = [d for d in datasets if d != "digits"]
        notes.append("digits skipped: scikit-learn is not installed (pip install \"gankit[digits]\")")
    if not datasets:
        raise ValueError("--datasets: nothing left to run (digits needs scikit-learn)")
    if args.eval_samples < 2:
        raise ValueError(f"--eval-samples: expected at least 2 (MMD needs two samples), got {args.eval_samples}")

    def per_dataset(option, full_attr, quick_attr):
        table = option or {}
        return {d: table.get(d, table.get("*", getattr(DATASETS[d], quick_attr if args.quick else full_attr)))
                for d in datasets}

    max_iter = per_dataset(args.max_iter, "max_iter", "quick_max_iter")
    eval_every = per_dataset(args.eval_every, "eval_every", "quick_eval_every")
    return {
        "datasets": datasets, "g_losses": list(args.g_losses),
        "d_steps": list(args.d_steps or (QUICK["d_steps"] if args.quick else DEFAULT_D_STEPS)),
        "seeds": args.seeds or (QUICK["seeds"] if args.quick else DEFAULT_SEEDS),
        "max_iter": max_iter, "eval_every": {d: min(eval_every[d], max_iter[d]) for d in datasets},
        "eval_samples": args.eval_samples, "grad_dense": args.grad_iters, "grad_every": GRAD_EVERY,
        "probe_steps": _probe_steps(args),
        **_arguments.backend_config(args),
        "quick": bool(args.quick), "arch": args.arch, "notes": notes,
    }


def _probe_steps(args) -> int:
    if args.probe_steps is None:
        return QUICK_PROBE_STEPS if args.quick else DEFAULT_PROBE_STEPS
    if args.probe_steps < 0:
        raise ValueError(f"--probe-steps: expected 0 (no probe) or a positive integer, got {args.probe_steps}")
    return args.probe_steps
