"""Running many independent training runs as `gankit bench losses` and `gankit bench
quality` do, through gankit.sweeps: one core thread per run, so runs in parallel do not
compete for cores, and one failed run (or one whose worker died) recorded instead of
losing the rest."""
from __future__ import annotations

import traceback
from typing import Callable, Sequence, Tuple

from ..sweeps import Backend, run_calls

# (work, on_error, spec): the run is work(spec), or on_error(spec, traceback) if it raised.
Task = Tuple[Callable, Callable, object]


def guarded(task: Task) -> dict:
    """work(spec), or on_error(spec, traceback) if it raised: one failed run must not
    lose the others; the traceback goes into results.json."""
    work, on_error, spec = task
    try:
        return work(spec)
    except Exception:
        return on_error(spec, traceback.format_exc())


def run_tasks(tasks: Sequence[Task], order: Sequence[int], backend: Backend,
              finished: Callable[[int, int, dict], None]) -> None:
    """guarded(tasks[i]) for every i, started in `order`, on `backend` (gankit.sweeps),
    each with one core thread; finished(done, i, record) is called in this process as
    each ends, done counting from 1. A run whose worker died (Dask's KilledWorker after
    its retries, a broken process pool) is recorded by its on_error, with that error."""
    def lost(i: int, error: str) -> dict:
        _, on_error, spec = tasks[i]
        return on_error(spec, error)

    run_calls(guarded, tasks, order, backend, finished, lost)


def how_it_ran(cfg: dict) -> str:
    """The config's backend in words for a report ("2 at a time on a Dask LocalCluster");
    results.json files written before backends were recorded give their job count."""
    if "backend" not in cfg:
        return f"{cfg['jobs']} at a time"
    return Backend(**cfg["backend"]).describe()
