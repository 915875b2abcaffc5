"""The command-line options of `gankit bench scaling`, with the defaults --quick changes."""
from __future__ import annotations

import argparse
import os
import re
from typing import List, Tuple

from ... import sweeps
from ..speed.configs import CONFIGS, DEFAULT_CONFIGS, parse_config_names

DEFAULT_OUT = os.path.join("bench-results", "scaling")  # as losses and quality: git-ignored
QUICK = {"seconds": 0.15, "rounds": 2, "warmup": 0.05, "peak_seconds": 0.05}
FULL = {"seconds": 0.5, "rounds": 5, "warmup": 0.2, "peak_seconds": 0.5}
# The larger global batch every network also runs at data-parallel (below): at a config's
# own batch of 64, 16 ranks would get 4 rows each, GEMMs far below peak and a step's fixed
# costs (calls, noise, Adam over every parameter) repeated on every rank for nothing.
DEFAULT_LARGE_BATCH = 1024


def cores() -> int:
    return sweeps.available_cores()


def default_layouts(core_count: int) -> List[Tuple[int, int]]:
    """1 x 1 (the one-core reference), then every R x T that fills the cores with R
    dividing them: 2 cores -> 1x1, 1x2, 2x1; 16 -> 1x1, 1x16, 2x8, 4x4, 8x2, 16x1."""
    filling = [(r, core_count // r) for r in range(1, core_count + 1) if core_count % r == 0]
    return list(dict.fromkeys([(1, 1)] + filling))


def layouts(text: str) -> List[Tuple[int, int]]:
    """'1x2,2x1' -> [(1, 2), (2, 1)]: ranks x threads per rank (an argparse type)."""
    parts = [p.strip().lower() for p in text.split(",") if p.strip()]
    matches = [re.fullmatch(r"(\d+)[x×](\d+)", p) for p in parts]
    if not parts or not all(matches):
        raise argparse.ArgumentTypeError(f"expected comma-separated RANKSxTHREADS like 1x2,2x1, got {text!r}")
    chosen = [(int(m.group(1)), int(m.group(2))) for m in matches]
    if any(r < 1 or t < 1 for r, t in chosen):
        raise argparse.ArgumentTypeError(f"expected ranks and threads of at least 1, got {text!r}")
    return list(dict.fromkeys(chosen))


def config_names(text: str) -> List[str]:
    try:
        return parse_config_names(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser(prog: str) -> argparse.ArgumentParser:
    from . import __doc__ as package_doc
    n = cores()
    parser = argparse.ArgumentParser(
        prog=prog, description=package_doc.split("\n\nModules:")[0] + "\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="configs:\n" + "\n".join(f"  {c.name:9s} {c.describe()}" + (f" ({c.note})" if c.note else "")
                                         for c in CONFIGS.values()))
    parser.add_argument("--configs", type=config_names, default=list(DEFAULT_CONFIGS),
                        help=f"comma-separated config names, or 'all' (default: {','.join(DEFAULT_CONFIGS)})")
    parser.add_argument("--large-batch", type=int, default=DEFAULT_LARGE_BATCH,
                        help="also run every network data-parallel at this global batch where its "
                             f"config's is smaller; 0 for none (default: {DEFAULT_LARGE_BATCH})")
    parser.add_argument("--layouts", type=layouts, default=None,
                        help="data-parallel layouts RANKSxTHREADS, comma-separated, ranks x threads "
                             "at most the cores (default here: "
                             + ",".join(f"{r}x{t}" for r, t in default_layouts(n)) + ")")
    parser.add_argument("--seconds", type=float, default=None,
                        help=f"length of one measurement (default: {FULL['seconds']}; --quick: {QUICK['seconds']})")
    parser.add_argument("--rounds", type=int, default=None,
                        help=f"measurements of everything, in rotated order; the median is reported "
                             f"(default: {FULL['rounds']}; --quick: {QUICK['rounds']})")
    parser.add_argument("--warmup", type=float, default=None,
                        help=f"warm-up seconds per measurement (default: {FULL['warmup']}; --quick: {QUICK['warmup']})")
    parser.add_argument("--quick", action="store_true", help="short measurements, for a smoke test")
    parser.add_argument("--no-mpi", action="store_true", help="skip the data-parallel part")
    parser.add_argument("--mpiexec", default=None,
                        help="the MPI launcher (default: mpiexec next to this Python, else on PATH)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds one launch may take before it is killed (default: from its tasks)")
    parser.add_argument("--out", default=DEFAULT_OUT,
                        help=f"folder for results.json and results.md (default: {DEFAULT_OUT}; the "
                             "committed results: benchmarks/results/scaling)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    parser.add_argument("--markdown", action="store_true",
                        help="print the Markdown report (default: a plain summary)")
    return parser


def parse_args(argv, prog: str):
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    preset = QUICK if args.quick else FULL
    for name in ("seconds", "rounds", "warmup"):
        if getattr(args, name) is None:
            setattr(args, name, preset[name])
    args.peak_seconds = preset["peak_seconds"]
    if args.seconds <= 0 or args.warmup < 0:
        parser.error(f"--seconds must be > 0 and --warmup >= 0, got {args.seconds} and {args.warmup}")
    if args.rounds < 1:
        parser.error(f"--rounds: expected a positive integer, got {args.rounds}")
    if args.large_batch < 0:
        parser.error(f"--large-batch: expected 0 (none) or a positive batch, got {args.large_batch}")
    if args.timeout is not None and args.timeout <= 0:
        parser.error(f"--timeout: expected a positive number of seconds, got {args.timeout}")
    args.cores = cores()
    if args.layouts is None:
        args.layouts = default_layouts(args.cores)
    over = [f"{r}x{t}" for r, t in args.layouts if r * t > args.cores]
    if over:
        parser.error(f"--layouts: {','.join(over)} would oversubscribe the {args.cores} cores here "
                     "(ranks x threads must be at most the cores: the benchmark measures scaling, "
                     "not time-sharing)")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        parser.error(f"--out: {args.out!r} exists and is not a folder")
    return args
