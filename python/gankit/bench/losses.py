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
PNG figures. See benchmarks/README.md for the latest full results.
"""
from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import importlib.util
import os
import platform
import shlex
import sys
import time
from typing import Dict, List, Optional, Sequence

import numpy as np

import gankit as gk

from . import _arguments
from . import losses_report as report
from .speed_report import cpu_model
from .losses_gradients import gradient_view
from .losses_probe import ProbeSpec, failed_probe, probe_one, summarize_probes
from .losses_running import failed_record, run_all, run_one
from .losses_scoring import eval_sample_count, real_data_reference
from .losses_setup import (DATASETS, DEFAULT_D_STEPS, DEFAULT_SEEDS, DIGITS_HELD_OUT, G_LOSSES, QUICK,
                           Condition, DatasetSpec, Metric, RunSpec, architecture)
from .losses_summary import summarize

DEFAULT_OUT = os.path.join("bench-results", "losses")
DEFAULT_EVAL_SAMPLES = 2500
# The generator's gradient norm is kept at every iteration up to --grad-iters, then at
# every GRAD_EVERY-th.
DEFAULT_GRAD_ITERS = 500
GRAD_EVERY = 10
# Discriminator-only steps of the saturation probe (losses_probe), full and --quick.
DEFAULT_PROBE_STEPS = 1000
QUICK_PROBE_STEPS = 300


# -- arguments ----------------------------------------------------------------------------
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
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0].replace("\n", " "))
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
    p.add_argument("--jobs", type=_arguments.positive_int, default=_arguments.default_jobs(),
                   help="runs in parallel, each in its own single-threaded process (default: the "
                        f"number of cores, {_arguments.default_jobs()} here)")
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


# -- configuration ------------------------------------------------------------------------
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
        "jobs": args.jobs, "quick": bool(args.quick), "arch": args.arch, "notes": notes,
    }


def _probe_steps(args) -> int:
    if args.probe_steps is None:
        return QUICK_PROBE_STEPS if args.quick else DEFAULT_PROBE_STEPS
    if args.probe_steps < 0:
        raise ValueError(f"--probe-steps: expected 0 (no probe) or a positive integer, got {args.probe_steps}")
    return args.probe_steps


def run_specs(cfg: dict) -> List[RunSpec]:
    """Every run, dataset by dataset, variant by variant, seed by seed."""
    specs = []
    for dataset in cfg["datasets"]:
        arch = architecture(cfg["arch"], dataset)
        for g_loss in cfg["g_losses"]:
            for k in cfg["d_steps"]:
                for seed in range(cfg["seeds"]):
                    specs.append(RunSpec(dataset, g_loss, k, seed, cfg["max_iter"][dataset],
                                         cfg["eval_every"][dataset], cfg["eval_samples"],
                                         min(cfg["grad_dense"], cfg["max_iter"][dataset]),
                                         cfg["grad_every"], cfg["arch"], arch))
    return specs


def probe_specs(cfg: dict) -> List[ProbeSpec]:
    """One saturation probe per dataset and seed (none when probe_steps is 0)."""
    if not cfg["probe_steps"]:
        return []
    return [ProbeSpec(dataset, seed, cfg["probe_steps"], cfg["arch"], architecture(cfg["arch"], dataset))
            for dataset in cfg["datasets"] for seed in range(cfg["seeds"])]


def environment() -> dict:
    """Versions, build and machine, so a reader knows what produced the numbers."""
    versions = {}
    for name in ("matplotlib", "scikit-learn", "threadpoolctl"):
        try:  # from the installed metadata: importing scikit-learn would take seconds
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": f"{cpu_model()}, {os.cpu_count()} logical cores, {platform.platform()}",
        "python": platform.python_version(), "numpy": np.__version__, "gankit": gk.__version__,
        "build_info": gk.build_info(), "optional": versions,
    }




def dataset_info(cfg: dict, dataset: str) -> dict:
    spec = DATASETS[dataset]
    return {"note": spec.note, "max_iter": cfg["max_iter"][dataset], "eval_every": cfg["eval_every"][dataset],
            "eval_count": eval_sample_count(dataset, cfg["eval_samples"]),
            "threshold": spec.threshold_text(),
            "threshold_conditions": [vars(c) for c in spec.threshold],
            "metrics": [vars(m) for m in spec.metrics],
            "reference": real_data_reference(dataset, cfg["eval_samples"]),
            "architecture": architecture(cfg["arch"], dataset).as_dict()}


# -- output -------------------------------------------------------------------------------
def recorded_datasets(results: dict) -> Dict[str, DatasetSpec]:
    """The datasets' scores and thresholds as results.json recorded them, so tables and
    figures redrawn later say what the run used, whatever the code says now."""
    return {name: DatasetSpec(name, tuple(Metric(**m) for m in info["metrics"]),
                              tuple(Condition(**c) for c in info["threshold_conditions"]),
                              max_iter=info["max_iter"], eval_every=info["eval_every"],
                              quick_max_iter=info["max_iter"], quick_eval_every=info["eval_every"],
                              note=info["note"])
            for name, info in results["datasets"].items()}


def write_outputs(results: dict, out: str, plot: bool) -> None:
    """results.json, results.md and (unless plot is False or matplotlib is missing) the
    figures; the JSON and Markdown list the figures drawn."""
    datasets = recorded_datasets(results)
    results["figures"] = []
    if plot:
        try:
            from .losses_figures import draw_all
            results["figures"] = draw_all(results, datasets, out)
        except ImportError:
            results["notes"].append('no figures: matplotlib is not installed (pip install "gankit[plot]")')
    report.write_json(os.path.join(out, "results.json"), results)
    report.write_markdown(os.path.join(out, "results.md"), results, datasets)


def replot(out: str, plot: bool) -> int:
    path = os.path.join(out, "results.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"--replot: no {path}; run the benchmark first")
    results = report.read_json(path)
    results["notes"] = [n for n in results.get("notes", []) if not n.startswith("no figures")]
    write_outputs(results, out, plot)
    print(f"redrew {out}/results.md" + "".join(f", {f['file']}" for f in results["figures"]))
    return 0


def main(argv: Optional[Sequence[str]] = None, prog: str = "gankit bench losses") -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(prog).parse_args(argv)
    try:
        if args.replot:
            return replot(args.out, not args.no_plot)
        cfg = resolve(args)
        specs, probes = run_specs(cfg), probe_specs(cfg)
    except (ValueError, OSError) as exc:  # bad options or files: one line, not a traceback
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    for note in cfg["notes"]:
        print(f"note: {note}", file=sys.stderr)
    budgets = ", ".join(f"{d} {cfg['max_iter'][d]} it" for d in cfg["datasets"])
    print(f"{len(specs)} runs: {budgets}; "
          f"G losses {', '.join(cfg['g_losses'])}; k {', '.join(map(str, cfg['d_steps']))}; "
          f"{cfg['seeds']} seeds; {len(probes)} saturation probes; {cfg['jobs']} at a time",
          file=sys.stderr)
    started = time.perf_counter()
    done = run_all([(run_one, failed_record, s) for s in specs]
                   + [(probe_one, failed_probe, p) for p in probes], cfg["jobs"])
    records, probe_records = done[:len(specs)], done[len(specs):]
    results = {
        "benchmark": "losses", "command": " ".join([prog, *map(shlex.quote, argv)]),
        "environment": environment(), "config": {k: v for k, v in cfg.items() if k != "notes"},
        "notes": list(cfg["notes"]), "duration_seconds": time.perf_counter() - started,
        "datasets": {d: dataset_info(cfg, d) for d in cfg["datasets"]},
        "gradient_view": gradient_view(), "runs": records,
        "summary": summarize(records, DATASETS),
        "probes": probe_records, "probe_summary": summarize_probes(probe_records),
    }
    report.write_histories(os.path.join(args.out, "histories.npz"), records)
    write_outputs(results, args.out, not args.no_plot)
    print(report.markdown(results, recorded_datasets(results)))
    print(f"wrote {args.out}/results.json, results.md, histories.npz"
          + "".join(f", {f['file']}" for f in results["figures"]), file=sys.stderr)
    failed = sum(r["error"] is not None for r in done)
    if failed:
        print(f"{failed} run(s) failed; their tracebacks are in results.json", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
