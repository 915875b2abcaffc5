"""The command-line options of `gankit bench quality` and the configuration they resolve
to. Every bad option is reported in one line naming it, exit status 2."""
from __future__ import annotations

import argparse
import os

from .. import _arguments
from .._arguments import positive_int
from .setup import DATASETS, DEFAULT_EVAL_SAMPLES, DEFAULT_SEEDS, QUICK_SEEDS, ROW_NAMES

DEFAULT_OUT = os.path.join("bench-results", "quality")


class OneLineParser(argparse.ArgumentParser):
    """argparse, with errors as a single line `PROG: error: MESSAGE` (no usage block)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser(prog: str) -> argparse.ArgumentParser:
    p = OneLineParser(prog=prog, description=(
        "PacGAN's Table 1 with gankit: per dataset, row and seed, train one GAN and score "
        "2,500 fresh samples (modes captured, high-quality fraction, reverse KL)."))
    p.add_argument("--datasets", type=lambda text: _arguments.names(text, DATASETS), default=list(DATASETS),
                   help=f"comma-separated subset of {','.join(DATASETS)} (default: all)")
    p.add_argument("--rows", type=lambda text: _arguments.names(text, ROW_NAMES), default=list(ROW_NAMES),
                   help="comma-separated subset of the table's rows, quoted: " + ", ".join(ROW_NAMES)
                        + " (default: all)")
    p.add_argument("--seeds", type=positive_int, default=None,
                   help=f"seeds per row, 0..N-1 (default: {DEFAULT_SEEDS}, as the paper; --quick: {QUICK_SEEDS})")
    p.add_argument("--quick", action="store_true",
                   help=f"{QUICK_SEEDS} seeds; nothing else changes, so its numbers are comparable")
    p.add_argument("--max-iter", type=positive_int, default=None,
                   help="iterations of every run instead of each recipe's own (smoke runs; recorded)")
    p.add_argument("--eval-samples", type=positive_int, default=DEFAULT_EVAL_SAMPLES,
                   help=f"generated samples scored per run (default: {DEFAULT_EVAL_SAMPLES}, as the paper)")
    _arguments.add_backend_options(p)
    p.add_argument("--out", default=DEFAULT_OUT, help=f"results folder (default: {DEFAULT_OUT})")
    p.add_argument("--no-plot", action="store_true", help="no figures even if matplotlib is installed")
    p.add_argument("--replot", action="store_true",
                   help="do not train: redo results.md and the figures from OUT/results.json")
    return p


def parse(argv, prog: str) -> argparse.Namespace:
    """The options, checked; exits with status 2 and one line on a bad one."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        parser.error(f"argument --out: {args.out!r} exists and is not a folder")
    if args.replot and not os.path.isfile(os.path.join(args.out, "results.json")):
        parser.error(f"argument --replot: no {os.path.join(args.out, 'results.json')}; run the benchmark first")
    return args


def config(args: argparse.Namespace) -> dict:
    """What this invocation runs, as results.json records it. Raises ImportError for
    --workers or --scheduler without dask installed."""
    seeds = args.seeds or (QUICK_SEEDS if args.quick else DEFAULT_SEEDS)
    return {"datasets": list(args.datasets), "rows": list(args.rows), "seeds": seeds,
            "quick": bool(args.quick), "max_iter": args.max_iter, "eval_samples": args.eval_samples,
            **_arguments.backend_config(args), "threads_per_run": 1, "out": args.out, "plot": not args.no_plot}
