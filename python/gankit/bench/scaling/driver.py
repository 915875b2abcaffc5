"""The driver's side: what to measure (cases, tasks), launching a worker process or an
mpiexec job per layout with a timeout, and the rounds, each layout in turn in an order
rotated every round."""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from ..speed.configs import CONFIGS
from .paper import NODES, shard_rows_for

WORKER_MODULE = "gankit.bench.scaling.worker"
LOCAL = "one process"  # the unit label of the single-process launch


class LaunchError(RuntimeError):
    """A worker launch failed, died or ran past its timeout."""


@dataclass(frozen=True)
class Case:
    """One data-parallel measurement: config's networks at a global batch."""
    config: str
    batch: int


def network_key(config_name: str) -> tuple:
    c = CONFIGS[config_name]
    return (c.g_sizes, c.d_sizes, c.g_output)


def distinct_networks(configs: Sequence[str]) -> Dict[str, List[str]]:
    """The configs' distinct networks, each named by the first config that has them
    (mnist64 and mnist256 share theirs), with every config of the same networks."""
    named: Dict[tuple, List[str]] = {}
    for name in configs:
        named.setdefault(network_key(name), []).append(name)
    return {names[0]: names for names in named.values()}


def parallel_cases(configs: Sequence[str], large_batch: int) -> List[Case]:
    """Every config at its own batch, then every distinct network at large_batch where
    none of its configs' batches is that large (named by its largest-batch config)."""
    cases = [Case(name, CONFIGS[name].batch) for name in configs]
    if large_batch:
        for names in distinct_networks(configs).values():
            largest = max(names, key=lambda n: CONFIGS[n].batch)
            if CONFIGS[largest].batch < large_batch:
                cases.append(Case(largest, large_batch))
    return list(dict.fromkeys(cases))


def task(kind: str, config: str, batch: int, args) -> dict:
    return {"kind": kind, "config": config, "batch": batch, "seconds": args.seconds, "warmup": args.warmup}


def task_key(t: dict) -> Tuple[str, str, int]:
    return (t["kind"], t["config"], t["batch"])


def local_tasks(args, cases: Sequence[Case], paper_batches: Sequence[int], round_index: int) -> List[dict]:
    """The one-process launch's tasks: fused and split per config (which first alternates
    by round), fit's one-process loop at every data-parallel case, and the split step on
    a 16-node shard of every paper batch; a task needed twice is run once."""
    tasks = []
    for name in args.configs:
        pair = [task("fused", name, CONFIGS[name].batch, args), task("split", name, CONFIGS[name].batch, args)]
        tasks += pair if round_index % 2 == 0 else pair[::-1]
    tasks += [task("local", c.config, c.batch, args) for c in cases]
    for network in distinct_networks(args.configs):
        tasks += [task("split", network, shard_rows_for(batch, NODES), args) for batch in paper_batches]
    return list({task_key(t): t for t in tasks}.values())


def parallel_tasks(args, cases: Sequence[Case], ranks: int) -> List[dict]:
    return [task("data_parallel", c.config, c.batch, args) for c in cases if c.batch % ranks == 0]


def find_mpiexec(explicit: Optional[str] = None) -> Optional[str]:
    """--mpiexec, else the mpiexec beside this Python (a venv's MPICH wheel: the MPI
    mpi4py was installed with), else the first on PATH."""
    if explicit:
        return shutil.which(explicit)
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return beside
    return shutil.which("mpiexec")


def mpi_unavailable(args) -> Optional[str]:
    """Why the data-parallel part cannot run here, or None when it can."""
    if args.no_mpi:
        return "skipped (--no-mpi)"
    if importlib.util.find_spec("mpi4py") is None:
        return "skipped: mpi4py is not installed (pip install 'gankit[mpi]')"
    if find_mpiexec(args.mpiexec) is None:
        where = f"--mpiexec {args.mpiexec!r} not found" if args.mpiexec else \
            f"no mpiexec next to {sys.executable} or on PATH"
        return f"skipped: {where} (pip install 'gankit[mpi]' brings MPICH's)"
    return None


def launch_timeout(args, tasks: Sequence[dict]) -> float:
    """Generous: a slow step runs at least MIN_ITERATIONS however long they take, and
    mpiexec, imports and building the networks come first."""
    if args.timeout is not None:
        return args.timeout
    return 60.0 + sum(10.0 + 4.0 * (t["warmup"] + t["seconds"]) for t in tasks)


def launch(prefix: List[str], threads: int, tasks: Sequence[dict], timeout: float) -> dict:
    """Run the worker (under `prefix`, e.g. mpiexec -n R) with OMP_NUM_THREADS=threads
    and return what rank 0 wrote. The launch is its own process group, killed whole on a
    timeout so no rank is left behind."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    with tempfile.TemporaryDirectory(prefix="gankit-scaling-") as folder:
        out = os.path.join(folder, "results.json")
        command = prefix + [sys.executable, "-m", WORKER_MODULE, "--threads", str(threads),
                            "--tasks", json.dumps(list(tasks)), "--out", out]
        if prefix:
            command.insert(len(prefix) + 3, "--mpi")
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, start_new_session=True)
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise LaunchError(f"killed after its {timeout:.0f} s timeout") from None
        if process.returncode != 0 or not os.path.exists(out):
            tail = " | ".join(line for line in output.strip().splitlines()[-4:])
            raise LaunchError(f"exit status {process.returncode}: {tail or 'no output'}")
        with open(out) as f:
            return json.load(f)


@dataclass
class Unit:
    """One launch kind of each round: the one-process launch or R ranks x T threads."""
    label: str
    ranks: int
    threads: int
    mpi: bool


def units(args, mpi_ok: bool) -> List[Unit]:
    found = [Unit(LOCAL, 1, args.cores, False)]
    if mpi_ok:
        found += [Unit(f"{r}x{t}", r, t, True) for r, t in args.layouts]
    return found


def run_rounds(args, cases, paper_batches, log):
    """Every unit once per round, the order rotated each round (a slow drift of a shared
    machine's load then hits every layout alike). Returns (runs, failures, launch info):
    runs[(unit label, kind, config, batch)] is the list of per-round timings."""
    mpi_reason = mpi_unavailable(args)
    mpiexec = None if mpi_reason else find_mpiexec(args.mpiexec)
    order = units(args, mpi_reason is None)
    runs: Dict[tuple, List[dict]] = {}
    failures: List[dict] = []
    launched: Dict[str, dict] = {}
    dropped = set()
    for round_index in range(args.rounds):
        shift = round_index % len(order)
        for unit in order[shift:] + order[:shift]:
            if unit.label in dropped:
                continue
            tasks = (parallel_tasks(args, cases, unit.ranks) if unit.mpi
                     else local_tasks(args, cases, paper_batches, round_index))
            if not tasks:
                continue
            prefix = [mpiexec, "-n", str(unit.ranks)] if unit.mpi else []
            try:
                reply = launch(prefix, unit.threads, tasks, launch_timeout(args, tasks))
            except LaunchError as exc:
                # A layout that failed once (no MPI daemon, a crash, a hang) would most
                # likely fail, or cost its timeout, every round: it is left out from now.
                failures.append({"unit": unit.label, "round": round_index + 1, "error": str(exc)})
                dropped.add(unit.label)
                log(f"round {round_index + 1}: {unit.label}: FAILED, left out: {exc}")
                continue
            launched[unit.label] = {k: v for k, v in reply.items() if k != "results"}
            for result in reply["results"]:
                runs.setdefault((unit.label, *task_key(result)), []).append(result)
            fastest = max(reply["results"], key=lambda r: r["iterations_per_second"])
            log(f"round {round_index + 1}/{args.rounds}: {unit.label}: {len(tasks)} task(s) "
                f"(e.g. {fastest['kind']} {fastest['config']} batch {fastest['batch']}: "
                f"{fastest['iterations_per_second']:,.1f} it/s)")
    return runs, failures, launched, mpi_reason, order
