"""Sweeps: many independent calls fn(config), each with one core thread, run where the
caller says, their results handed back in this process as each call ends.

Where they run (a Backend):

- ``jobs=1``: here, one after another (the core's thread count is 1 meanwhile).
- ``jobs=N``: N spawned worker processes (concurrent.futures), one core thread each.
- ``workers=N``: a Dask ``LocalCluster`` of N single-threaded worker processes on this
  machine (needs ``pip install "gankit[dask]"``). The default when dask.distributed is
  installed, with N the cores this process may use; without it, ``jobs=N`` is.
- ``scheduler="tcp://host:8786"``: the workers of an existing Dask cluster (started with
  ``dask scheduler`` / ``dask worker --nthreads 1``, dask-jobqueue, ...).

Every call sets the core to one thread first, so N parallel calls use N cores and never
compete for them; a call's numbers do not depend on its thread count or on where it runs
(same gankit build and CPU kind: the GEMM micro-kernel is chosen per CPU).

A call that raises, or whose worker process dies (Dask retries it on another worker
until ``distributed.scheduler.allowed-failures`` deaths, then gives up with
``KilledWorker``; a broken process pool is not retried), ends as a failure record, not
as an exception that would lose the other calls' results.
"""
from __future__ import annotations

import concurrent.futures as cf
import functools
import importlib.util
import multiprocessing
import os
import pickle
import traceback
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, Callable, Iterable, List, Optional, Sequence

from . import _core
from . import _validation as check

SERIAL, PROCESSES, LOCAL_CLUSTER, SCHEDULER = "serial", "processes", "local_cluster", "scheduler"
DASK_MISSING = 'needs dask.distributed: pip install "gankit[dask]"'
# Pinned in every worker process before NumPy or the core is imported there, so neither
# OpenMP nor a BLAS starts a thread per core in each of N workers.
ONE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def available_cores() -> int:
    """The cores this process may run on (os.cpu_count() where affinity is unknown)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def has_dask() -> bool:
    """Whether dask.distributed is installed (found, not imported: that takes a second)."""
    try:
        return importlib.util.find_spec("distributed") is not None
    except ValueError:  # sys.modules["distributed"] is None: import blocked
        return False


@dataclass(frozen=True)
class Backend:
    """Where a sweep's calls run: kind is one of SERIAL, PROCESSES, LOCAL_CLUSTER or
    SCHEDULER; workers, the calls run at once (None on an existing cluster, whose
    workers are its own); address, the scheduler's (SCHEDULER only)."""
    kind: str
    workers: Optional[int]
    address: Optional[str] = None

    def as_dict(self) -> dict:
        return {"kind": self.kind, "workers": self.workers, "address": self.address}

    def describe(self) -> str:
        """How the calls run, for a log line or a report: "2 at a time in spawned processes"."""
        return {SERIAL: "one at a time in this process",
                PROCESSES: f"{self.workers} at a time in spawned processes",
                LOCAL_CLUSTER: f"{self.workers} at a time on a Dask LocalCluster",
                SCHEDULER: f"on the Dask cluster at {self.address}"}[self.kind]


def choose_backend(jobs=None, workers=None, scheduler=None) -> Backend:
    """The Backend of at most one of jobs, workers and scheduler (see the module's
    docstring); none given: a LocalCluster of one worker per core when dask.distributed
    is installed, else that many spawned processes."""
    given = [name for name, value in (("jobs", jobs), ("workers", workers), ("scheduler", scheduler))
             if value is not None]
    if len(given) > 1:
        raise ValueError(f"jobs, workers, scheduler: expected at most one of them, got {' and '.join(given)}")
    if jobs is not None:
        jobs = check.integer(jobs, "jobs", low=1)
        return Backend(SERIAL if jobs == 1 else PROCESSES, jobs)
    if workers is not None:
        workers = check.integer(workers, "workers", low=1)
        if not has_dask():
            raise ImportError(f"workers: {DASK_MISSING}")
        return Backend(LOCAL_CLUSTER, workers)
    if scheduler is not None:
        if not isinstance(scheduler, str) or not scheduler.strip():
            raise TypeError(f"scheduler: expected a Dask scheduler address like 'tcp://host:8786', "
                            f"got {check.brief(scheduler)}")
        if not has_dask():
            raise ImportError(f"scheduler: {DASK_MISSING}")
        return Backend(SCHEDULER, None, scheduler.strip())
    cores = available_cores()
    if has_dask():
        return Backend(LOCAL_CLUSTER, cores)
    return Backend(SERIAL if cores == 1 else PROCESSES, cores)


def on_one_thread(call: Callable, item):
    """call(item) with the core on one thread. Left at one afterwards: a worker may run
    several calls in threads at once, and the count is the process's, so restoring it
    would race with them."""
    _core.set_num_threads(1)
    return call(item)


def worker_lost(error: BaseException) -> str:
    """The failure text of a call that gave no result because its worker died
    (KilledWorker, BrokenProcessPool) or it could not be sent or unpickled there."""
    return f"{type(error).__name__}: {error}"


def run_calls(call: Callable, items: Sequence, order: Sequence[int], backend: Backend,
              finished: Callable[[int, int, Any], None], lost: Callable[[int, str], Any]) -> None:
    """call(items[i]) for every i in `order`, started in that order (the rest queued), on
    `backend`, with one core thread; finished(done, i, result) is called in this process
    as each ends, done counting from 1. `call` should catch its own errors: where a call
    gives no result (its worker died), `lost(i, worker_lost(error))` stands in for it.
    call and items must be picklable unless the backend is SERIAL."""
    if backend.kind == SERIAL:
        threads = _core.num_threads()
        try:
            with _blas_on_one_thread():
                for done, i in enumerate(order, 1):
                    finished(done, i, on_one_thread(call, items[i]))
        finally:
            _core.set_num_threads(threads)
    elif backend.kind == PROCESSES:
        _on_process_pool(call, items, order, backend.workers, finished, lost)
    else:
        _on_dask(call, items, order, backend, finished, lost)


def _blas_on_one_thread():
    """NumPy's BLAS on one thread here too, as ONE_THREAD_ENV has it in the workers: a
    threaded dot product sums in another order, so a norm computed with it would differ
    in its last bits from the same call run elsewhere. Needs threadpoolctl (gankit[bench])."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


@contextmanager
def _single_threaded_children():
    """Spawned children inherit this environment at start-up."""
    saved = {name: os.environ.get(name) for name in ONE_THREAD_ENV}
    os.environ.update(ONE_THREAD_ENV)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _on_process_pool(call, items, order, jobs, finished, lost) -> None:
    context = multiprocessing.get_context("spawn")  # never fork a process with OpenMP threads
    with _single_threaded_children(), cf.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {pool.submit(on_one_thread, call, items[i]): i for i in order}
        for done, future in enumerate(cf.as_completed(futures), 1):
            i = futures.pop(future)
            try:
                result = future.result()
            except Exception as error:  # BrokenProcessPool: a worker died; the pool is lost
                result = lost(i, worker_lost(error))
            finished(done, i, result)


def _on_dask(call, items, order, backend: Backend, finished, lost) -> None:
    import dask
    from distributed import Client, LocalCluster, as_completed

    with ExitStack() as stack:
        if backend.kind == LOCAL_CLUSTER:
            # One task per worker at a time (not the default ~1.1 queued ahead): a worker
            # that dies takes down only the call it was running, and the costliest calls,
            # first in `order`, start first.
            with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
                cluster = stack.enter_context(LocalCluster(
                    n_workers=backend.workers, threads_per_worker=1, processes=True,
                    dashboard_address=":0", env=ONE_THREAD_ENV))
            client = stack.enter_context(Client(cluster))
        else:
            client = stack.enter_context(Client(backend.address))
        futures = {client.submit(on_one_thread, call, items[i], pure=False, priority=len(order) - rank): i
                   for rank, i in enumerate(order)}
        for done, future in enumerate(as_completed(futures), 1):
            i = futures.pop(future)
            try:
                result = future.result()
            except Exception as error:  # KilledWorker after its allowed retries
                result = lost(i, worker_lost(error))
            # Released at once: a result held on a worker that later dies would be
            # computed again for nothing.
            future.release()
            finished(done, i, result)


@dataclass(frozen=True)
class Failed:
    """The entry of a call that gave no result: error is the traceback of what it raised
    (formatted where it ran), or "KilledWorker: ..." when its worker kept dying."""
    error: str


def _captured(fn: Callable, config):
    try:
        return fn(config)
    except Exception:
        return Failed(traceback.format_exc())


def sweep(fn: Callable, configs: Iterable, *, workers: Optional[int] = None, scheduler: Optional[str] = None,
          jobs: Optional[int] = None, on_result: Optional[Callable[[int, Any], None]] = None) -> List:
    """[fn(config) for config in configs], the calls run as independent tasks with one
    core thread each: ``jobs=1`` here, ``jobs=N`` in N spawned processes, ``workers=N``
    on a Dask LocalCluster of N single-threaded workers, ``scheduler=ADDRESS`` on an
    existing Dask cluster; at most one of them, and none means a LocalCluster of one
    worker per core with dask.distributed installed, else a process pool as large.

    Results are in config order. A call that raised, or whose worker kept dying, gives a
    ``Failed`` entry (its traceback or the KilledWorker message in ``.error``) instead of
    raising, so the others are kept. ``on_result(index, result)`` is called in this
    process as each call ends (in the order they end), e.g. to save partial results.

    fn must be picklable unless jobs=1: a module-level function of a module the workers
    can import (Dask also sends lambdas and a script's own functions by value). What fn
    returns travels back by pickle too.
    """
    if not callable(fn):
        raise TypeError(f"fn: expected a callable, got {check.brief(fn)} ({type(fn).__name__})")
    if isinstance(configs, (str, bytes)) or not hasattr(configs, "__iter__"):
        raise TypeError(f"configs: expected an iterable of configurations, got {type(configs).__name__}")
    if on_result is not None and not callable(on_result):
        raise TypeError(f"on_result: expected a callable or None, got {type(on_result).__name__}")
    configs = list(configs)
    backend = choose_backend(jobs=jobs, workers=workers, scheduler=scheduler)
    if backend.kind == PROCESSES:
        try:  # what the pool would fail on later, in a feeder thread, once per call
            pickle.dumps(fn)
        except Exception as error:
            raise TypeError(f"fn: expected a picklable module-level function with jobs > 1, got "
                            f"{check.brief(fn)} ({type(error).__name__}: {error})") from None
    results: List[Any] = [None] * len(configs)

    def finished(_done: int, i: int, result) -> None:
        results[i] = result
        if on_result is not None:
            on_result(i, result)

    run_calls(functools.partial(_captured, fn), configs, range(len(configs)), backend, finished,
              lambda _i, error: Failed(error))
    return results

