"""Measuring: one worker process per installed framework and thread count, each config
warmed up in every worker, then timed round by round with the order rotated, together
with the CPU time everything else used meanwhile."""
from __future__ import annotations

import os
import time
from typing import Dict, List

from .client import Worker, WorkerError, is_installed, machine_busy_seconds


def jax_cpus(threads: int):
    """The CPUs JAX's worker is pinned to: `threads` of them when the machine has more
    (XLA sizes its pools from the CPUs it may use, and has no thread-count setting after
    import), else none: with as many threads as cores JAX keeps its default."""
    usable = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    return usable[:threads] if threads < len(usable) else None


def start_workers(frameworks, threads: int, status: Dict[str, str], log) -> Dict[str, Worker]:
    """One worker per installed framework at this thread count (see jax_cpus for JAX)."""
    workers = {}
    for name in frameworks:
        if status.get(name, "ok").startswith(("not installed", "failed to start")):
            continue
        if not is_installed(name):
            status[name] = "not installed"
            log(f"{name}: not installed, skipped")
            continue
        try:
            workers[name] = Worker(name, threads, pin_cpus=jax_cpus(threads) if name == "jax" else None)
        except WorkerError as exc:
            status[name] = f"failed to start: {exc}"
            log(f"{name}: {status[name]}")
    return workers


def measure_peak(workers: Dict[str, Worker], seconds: float) -> float:
    """Single-core FMA peak, measured in the gankit worker (or here if gankit is not benchmarked)."""
    if "gankit" in workers:
        try:
            return workers["gankit"].request(60 + 4 * seconds, op="peak", seconds=seconds)["gflops"]
        except WorkerError:
            pass  # the benchmark reports the gankit worker's failure; the peak is still needed
    from .gankit import fma_peak_gflops
    return fma_peak_gflops(seconds)


def measure_config(workers: Dict[str, Worker], config_name: str, args, status, log) -> Dict[str, List[dict]]:
    """Warm every worker up on the config, then `rounds` interleaved timed runs each."""
    runs: Dict[str, List[dict]] = {}
    for name, worker in list(workers.items()):
        try:
            reply = worker.request(300 + 10 * args.warmup, op="prepare", config=config_name,
                                   warmup=args.warmup, seed=0)
            runs[name] = []
            log(f"  {name}: warmed up ({reply['warmup_iterations']} iterations, first "
                f"{reply['first_call_seconds']:.2f} s)")
        except WorkerError as exc:
            status[name] = f"failed: {exc}"
            log(f"  {name}: {status[name]}")
            if not worker.alive():
                workers.pop(name).close()
    order = list(runs)
    for round_index in range(args.rounds):
        shift = round_index % max(len(order), 1)
        for name in order[shift:] + order[:shift]:
            if name not in runs:
                continue
            barrier = barrier_us(workers[name].threads)  # before the settle: its team spins a while
            time.sleep(args.settle)
            try:
                runs[name].append(timed_run(workers, name, config_name, args.seconds))
                runs[name][-1]["barrier_us"] = barrier
            except WorkerError as exc:
                status[name] = f"failed: {exc}"
                log(f"  {name}: {status[name]}")
                del runs[name]
                if not workers[name].alive():
                    workers.pop(name).close()
    for worker in workers.values():
        try:
            worker.request(60, op="drop", config=config_name)
        except WorkerError:
            pass
    return runs


def barrier_us(threads: int):
    """One OpenMP barrier among `threads` threads, in microseconds, measured here just
    before a timed run; None at 1 thread or where it cannot be measured. It says how
    close the host put the threads' cores: on this project's 2-vCPU VMs it flips between
    about 0.2 us and twice that, and in the slower minutes every multi-threaded
    framework's figure drops (see cpp/src/barrier_cost.cpp)."""
    if threads < 2:
        return None
    try:
        from ... import _core
        return _core.barrier_cost_us(threads, 2000)
    except (ImportError, RuntimeError, ValueError):
        return None


def timed_run(workers: Dict[str, Worker], name: str, config_name: str, seconds: float) -> dict:
    """One measurement by worker `name`, with what else ran meanwhile: the CPU time the
    idle workers used (near zero unless some framework's spinning threads steal cores
    from the one measured) and the CPU time of every other process on the machine."""
    idle = [w for other, w in workers.items() if other != name]
    idle_before, ours_before = sum(w.cpu_seconds() for w in idle), workers[name].cpu_seconds()
    machine_before, start = machine_busy_seconds(), time.perf_counter()
    run = workers[name].request(120 + 20 * seconds, op="run", config=config_name, seconds=seconds)
    wall = time.perf_counter() - start
    idle_cpu = sum(w.cpu_seconds() for w in idle) - idle_before
    ours = workers[name].cpu_seconds() - ours_before
    run["idle_workers_cpu_seconds"] = idle_cpu
    run["other_jobs_cores"] = max(0.0, machine_busy_seconds() - machine_before - idle_cpu - ours) / wall
    return run
