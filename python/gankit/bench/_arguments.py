"""argparse `type=` converters shared by the `gankit bench` commands, and the options
that say where their runs go. Each converter raises argparse.ArgumentTypeError, which
argparse reports prefixed with the option's name."""
from __future__ import annotations

import argparse
from typing import List, Sequence

from .. import sweeps


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def default_jobs() -> int:
    """The cores this process may run on (os.cpu_count() where affinity is unknown)."""
    return sweeps.available_cores()


def add_backend_options(parser: argparse.ArgumentParser) -> None:
    """--jobs, --workers and --scheduler, at most one of them: where the runs go
    (gankit.sweeps.choose_backend; none given: --workers per core with dask installed,
    else --jobs per core)."""
    cores = default_jobs()
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--jobs", type=positive_int, default=None,
                       help=f"runs in parallel, each in its own spawned single-threaded process (1: in "
                            f"this process; default without dask installed: {cores}, the cores here)")
    where.add_argument("--workers", type=positive_int, default=None,
                       help=f"runs in parallel on a Dask LocalCluster of this many single-threaded "
                            f"workers (needs gankit[dask]; default with it: {cores}, the cores here)")
    where.add_argument("--scheduler", metavar="ADDRESS", default=None,
                       help="run on the workers of an existing Dask cluster, e.g. tcp://host:8786 "
                            "(start them with --nthreads 1: a run uses one core)")


def backend_config(args: argparse.Namespace) -> dict:
    """Where the runs go as results.json's config records it: backend (the
    gankit.sweeps.Backend that --jobs/--workers/--scheduler ask for, as a dict) and jobs
    (runs at a time; None on an existing cluster, whose workers are its own). Host
    fields: a run's numbers do not depend on them. Raises ImportError (with the pip
    command) for --workers or --scheduler without dask installed."""
    backend = sweeps.choose_backend(jobs=args.jobs, workers=args.workers, scheduler=args.scheduler)
    return {"jobs": backend.workers, "backend": backend.as_dict()}


def positive_ints(text: str, unique: bool = False) -> List[int]:
    """'1,2' -> [1, 2]; with `unique`, repeats are dropped (first occurrence kept)."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers like 1,2, got {text!r}")
    return list(dict.fromkeys(values)) if unique else values


def names(text: str, allowed: Sequence[str]) -> List[str]:
    """A non-empty comma-separated subset of `allowed`, repeats dropped, order kept."""
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    if not chosen or any(name not in allowed for name in chosen):
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated subset of {','.join(allowed)}, got {text!r}")
    return list(dict.fromkeys(chosen))

