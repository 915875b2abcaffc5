"""One benchmark worker process per framework and thread count, and its client.

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
prints can corrupt a reply.

    python -m gankit.bench._workers --framework torch --threads 2
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import selectors
import subprocess
import sys
import tempfile
import time

from .speed_jax import ONE_THREAD_XLA_FLAGS

FRAMEWORK_MODULES = {
    "gankit": "gankit.bench.speed_gankit",
    "numpy": "gankit.bench.speed_numpy",
    "torch": "gankit.bench.speed_torch",
    "jax": "gankit.bench.speed_jax",
}
# The package whose absence means "not installed" rather than "broken".
FRAMEWORK_PACKAGES = {"gankit": "gankit", "numpy": "numpy", "torch": "torch", "jax": "jax"}


class WorkerError(RuntimeError):
    """A worker failed, died or did not answer in time."""


# -- the worker side --------------------------------------------------------------------
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

    def __init__(self, module):
        self.module = module
        self.iterations = {}

    def handle(self, request: dict) -> dict:
        from .speed_configs import CONFIGS, initial_state
        op = request.get("op")
        if op == "prepare":
            config = CONFIGS[request["config"]]
            g_weights, d_weights, real = initial_state(config, request.get("seed", 0))
            iteration = self.module.make_iteration(config, g_weights, d_weights, real, request.get("seed", 0))
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
    state = WorkerState(module)
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("op") == "quit":
            break
        try:
            reply({"ok": True, **state.handle(request)})
        except Exception as exc:  # one failed request must not kill the others' benchmark
            reply({"ok": False, "error": f"{type(exc).__name__}: {exc}"})
    return 0


# -- the parent side ---------------------------------------------------------------------
def machine_busy_seconds() -> float:
    """CPU time all processes have used on every core so far, from /proc/stat (Linux;
    NaN elsewhere): with the workers' own CPU time it gives the load of other jobs."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return float("nan")
    idle, iowait = fields[3], fields[4]
    return (sum(fields[:8]) - idle - iowait) / os.sysconf("SC_CLK_TCK")  # up to steal, no guests


def is_installed(framework: str) -> bool:
    return importlib.util.find_spec(FRAMEWORK_PACKAGES[framework]) is not None


def worker_environment(framework: str, threads: int) -> dict:
    """The worker's environment: every OpenMP/BLAS pool sized to `threads` (so no idle
    library pool oversubscribes the cores), JAX on the CPU, and for JAX at one thread the
    XLA flags that must be set before it is imported."""
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    if framework == "jax":
        env["JAX_PLATFORMS"] = "cpu"
        if threads == 1:
            env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " " + ONE_THREAD_XLA_FLAGS).strip()
    return env


class Worker:
    """The parent's handle on one worker process."""

    def __init__(self, framework: str, threads: int, pin_cpus=None, start_timeout: float = 300.0):
        self.framework, self.threads = framework, threads
        command = [sys.executable, "-m", "gankit.bench._workers", "--framework", framework,
                   "--threads", str(threads)]
        if pin_cpus:
            command += ["--pin-cpus", ",".join(map(str, pin_cpus))]
        self._stderr = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=self._stderr, env=worker_environment(framework, threads))
        self._buffer = b""
        self.hello = self._read_reply(start_timeout)

    def request(self, timeout: float, **message) -> dict:
        try:
            self._proc.stdin.write((json.dumps(message) + "\n").encode())
            self._proc.stdin.flush()
        except BrokenPipeError:
            raise WorkerError(self._failure("died")) from None
        return self._read_reply(timeout)

    def _read_reply(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self._proc.stdout, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    raise WorkerError(self._failure(f"gave no answer within {timeout:.0f} s"))
                chunk = os.read(self._proc.stdout.fileno(), 65536)
                if not chunk:
                    raise WorkerError(self._failure("exited"))
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        reply = json.loads(line)
        if not reply.get("ok"):
            raise WorkerError(f"{self.framework} worker ({self.threads} threads): {reply.get('error')}")
        return reply

    def alive(self) -> bool:
        return self._proc.poll() is None

    def cpu_seconds(self) -> float:
        """CPU time the worker has used so far, read from /proc without waking it (Linux;
        NaN elsewhere)."""
        try:
            with open(f"/proc/{self._proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
        except (OSError, ValueError, IndexError):
            return float("nan")

    def _failure(self, what: str) -> str:
        self._stderr.seek(0)
        tail = self._stderr.read().decode(errors="replace").strip().splitlines()[-5:]
        return f"{self.framework} worker ({self.threads} threads) {what}" + (
            ": " + " | ".join(tail) if tail else "")

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                self._proc.stdin.write(b'{"op": "quit"}\n')
                self._proc.stdin.flush()
                self._proc.wait(timeout=10)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait()
        self._stderr.close()


if __name__ == "__main__":
    sys.exit(worker_main())
