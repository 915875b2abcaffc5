"""A scaling-benchmark worker: times a list of tasks (iterations.py) in this process, or,
with --mpi, in every rank of the MPI job it was started in, and writes rank 0's figures
as JSON to --out. The driver (driver.py) starts it as

    OMP_NUM_THREADS=T python -m gankit.bench.scaling.worker --threads T --tasks JSON --out PATH
    OMP_NUM_THREADS=T mpiexec -n R python -m gankit.bench.scaling.worker --mpi --threads T ...

A fresh process per launch: a run's thread team, allocator and MPI state never carry
over into the next layout's. An error on any rank prints its traceback with the rank and
aborts the whole job (the others would wait in a collective forever); the driver
reports the exit status and the end of the output.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import traceback


def worker_main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="A scaling-benchmark worker (started by gankit bench scaling).")
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--tasks", required=True, help="JSON list of tasks (iterations.run_task)")
    parser.add_argument("--out", required=True, help="where rank 0 writes the results (JSON)")
    parser.add_argument("--mpi", action="store_true", help="data-parallel over MPI.COMM_WORLD")
    args = parser.parse_args(argv)
    comm = None
    if args.mpi:
        from mpi4py import MPI
        comm = MPI.COMM_WORLD
    try:
        import gankit as gk
        from .iterations import run_task
        # Explicitly, on top of OMP_NUM_THREADS: DataParallel.start keeps a caller's choice.
        gk.set_num_threads(args.threads)
        results = [run_task(task, comm) for task in json.loads(args.tasks)]
        if comm is None or comm.Get_rank() == 0:
            report = {"ranks": 1 if comm is None else comm.Get_size(),
                      "threads_per_rank": gk.get_num_threads(),
                      "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
                      "results": results}
            if comm is not None:
                import mpi4py
                from mpi4py import MPI
                report["mpi"] = {"mpi4py": mpi4py.__version__,
                                 "library": MPI.Get_library_version().strip().splitlines()[0]}
            with open(args.out + ".part", "w") as f:
                json.dump(report, f)
            os.replace(args.out + ".part", args.out)  # the driver never reads half a file
    except BaseException as exc:
        rank = "" if comm is None else f" rank {comm.Get_rank()} of {comm.Get_size()}:"
        print(f"scaling worker:{rank} failed:\n" + "".join(traceback.format_exception(
            type(exc), exc, exc.__traceback__)), file=sys.stderr, flush=True)
        if comm is not None and comm.Get_size() > 1:
            comm.Abort(1)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(worker_main())
