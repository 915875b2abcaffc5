"""The parent's side of the speed benchmark's workers (worker.py): start one, send it
requests and read its replies with a timeout, read its CPU time without waking it, and
read the machine's load.
"""
from __future__ import annotations

import importlib.util
import json
import os
import selectors
import subprocess
import sys
import tempfile
import time

from .jax import ONE_THREAD_XLA_FLAGS

# The package whose absence means "not installed" rather than "broken".
FRAMEWORK_PACKAGES = {"gankit": "gankit", "numpy": "numpy", "torch": "torch", "jax": "jax",
                      "gankit_bf16": "gankit", "torch_bf16": "torch"}


class WorkerError(RuntimeError):
    """A worker failed, died or did not answer in time."""


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
        command = [sys.executable, "-m", "gankit.bench.speed.worker", "--framework", framework,
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

