"""Running many independent training runs, each in its own single-threaded process, as
`gankit bench losses` and `gankit bench quality` do: one core thread per run, so runs in
parallel do not compete for cores, and one failed run recorded instead of losing the rest."""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import traceback
from contextlib import contextmanager
from typing import Callable, Sequence, Tuple

import gankit as gk

# (work, on_error, spec): the run is work(spec), or on_error(spec, traceback) if it raised.
Task = Tuple[Callable, Callable, object]


def guarded(work: Callable, on_error: Callable, spec) -> dict:
    """work(spec), or on_error(spec, traceback) if it raised: one failed run must not
    lose the others; the traceback goes into results.json."""
    try:
        return work(spec)
    except Exception:
        return on_error(spec, traceback.format_exc())


def single_threaded_worker() -> None:
    gk.set_num_threads(1)


@contextmanager
def single_threaded_children():
    """Children inherit the environment at start-up: pin OpenMP and BLAS to one thread
    before NumPy or the core is imported there."""
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update({name: "1" for name in names})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_tasks(tasks: Sequence[Task], order: Sequence[int], jobs: int,
              finished: Callable[[int, int, dict], None]) -> None:
    """guarded(*tasks[i]) for every i, started in `order`; finished(done, i, record) is
    called in this process as each ends, done counting from 1. jobs > 1: that many
    spawned worker processes with one core thread each; jobs == 1: here, with one core
    thread."""
    if jobs == 1:
        threads = gk.get_num_threads()
        gk.set_num_threads(1)
        try:
            for done, i in enumerate(order, 1):
                finished(done, i, guarded(*tasks[i]))
        finally:
            gk.set_num_threads(threads)
        return
    context = multiprocessing.get_context("spawn")  # never fork a process with OpenMP threads
    with single_threaded_children(), cf.ProcessPoolExecutor(
            max_workers=jobs, mp_context=context, initializer=single_threaded_worker) as pool:
        futures = {pool.submit(guarded, *tasks[i]): i for i in order}
        for done, future in enumerate(cf.as_completed(futures), 1):
            finished(done, futures[future], future.result())
