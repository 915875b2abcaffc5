"""A speed-benchmark worker: one process per framework and thread count.

Each framework runs in its own persistent subprocess so that its thread pools, allocator
and (for JAX) thread settings fixed at import cannot touch the others'. The parent talks
to a worker over its stdin/stdout, one JSON object per line:

    {"op": "prepare", "config": NAME, "warmup": S, "seed": N}  build the networks, warm up
    {"op": "run", "config": NAME, "seconds": S}                 time iterations for ~S seconds
    {"op": "peak", "seconds": S}                                the FMA peak (gankit only)
    {"op": "drop", "config": NAME}                              free a config's networks
    {"op": "quit"}

and each reply is {"ok": true, ...} or {"ok": false, "error": "..."}. The worker's own
stdout is moved to stderr before any framework is imported, so nothing a library
prints can corrupt a reply. The parent's side is client.py; nothing imports this module,
so it runs only as

    python -m gankit.bench.speed.worker --framework torch --threads 2
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time

FRAMEWORK_MODULES = {
    "gankit": "gankit.bench.speed.gankit",
    "numpy": "gankit.bench.speed.numpy",
    "torch": "gankit.bench.speed.torch",
    "jax": "gankit.bench.speed.jax",
    # The same iterations with bf16 products (gankit precision="bf16", torch.autocast).
    "gankit_bf16": "gankit.bench.speed.gankit",
    "torch_bf16": "gankit.bench.speed.torch",
}


def precision_of(framework: str) -> str:
    return "bf16" if framework.endswith("_bf16") else "fp32"


def time_iterations(iteration, seconds: float) -> dict:
    """Run `iteration` until `seconds` have passed (at least one call) and report the
    count, wall time and this process's CPU time over exactly those calls."""
    iteration()  # untimed: the other workers ran meanwhile and evicted our caches
    count = 0
    cpu_start, start = time.process_time(), time.perf_counter()
    while True:
        iteration()
        count += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            break
    return {"iterations": count, "seconds": elapsed, "cpu_seconds": time.process_time() - cpu_start}


def warm_up(iteration, seconds: float) -> dict:
    """Compile (JAX), allocate and fault in everything: time the first call, then run on
    for `seconds` (and at least two more calls) past it."""
    start = time.perf_counter()
    iteration()
    first = time.perf_counter() - start
    calls, start = 1, time.perf_counter()
    while calls < 3 or time.perf_counter() - start < seconds:
        iteration()
        calls += 1
    return {"first_call_seconds": first, "warmup_iterations": calls}


class WorkerState:
    """The worker's framework module and the iterations it has built, by config name."""

    def __init__(self, module, precision: str = "fp32"):
        self.module = module
        self.precision = precision
        self.iterations = {}

    def handle(self, request: dict) -> dict:
        from .configs import CONFIGS, initial_state
        op = request.get("op")
        if op == "prepare":
            config = CONFIGS[request["config"]]
            g_weights, d_weights, real = initial_state(config, request.get("seed", 0))
            extra = {"precision": self.precision} if self.precision != "fp32" else {}
            iteration = self.module.make_iteration(config, g_weights, d_weights, real, request.get("seed", 0),
                                                   **extra)
            self.iterations[config.name] = iteration
            return warm_up(iteration, request["warmup"])
        if op == "run":
            return time_iterations(self.iterations[request["config"]], request["seconds"])
        if op == "peak":
            return {"gflops": self.module.fma_peak_gflops(request["seconds"])}
        if op == "drop":
            self.iterations.pop(request["config"], None)
            return {}
        raise ValueError(f"unknown op {op!r}")


def worker_main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="A speed-benchmark worker (started by gankit bench speed).")
    parser.add_argument("--framework", choices=sorted(FRAMEWORK_MODULES), required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--pin-cpus", default=None, help="comma-separated CPUs to run on")
    args = parser.parse_args(argv)
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything a library prints goes to stderr, never into a reply

    def reply(message: dict) -> None:
        replies.write(json.dumps(message) + "\n")

    if args.pin_cpus:  # before the import, so every thread the framework starts inherits it
        os.sched_setaffinity(0, {int(cpu) for cpu in args.pin_cpus.split(",")})
    try:
        module = importlib.import_module(FRAMEWORK_MODULES[args.framework])
        setup = module.setup_threads(args.threads)
        versions = module.versions()
    except Exception as exc:  # report any import/setup failure to the parent, then stop
        reply({"ok": False, "error": f"{type(exc).__name__}: {exc}"})
        return 1
    reply({"ok": True, "pid": os.getpid(), "thread_setup": setup, "versions": versions})
    state = WorkerState(module, precision_of(args.framework))
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("op") == "quit":
            break
        try:
            reply({"ok": True, **state.handle(request)})
        except Exception as exc:  # one failed request must not kill the others' benchmark
            reply({"ok": False, "error": f"{type(exc).__name__}: {exc}"})
    return 0


if __name__ == "__main__":
    sys.exit(worker_main())
