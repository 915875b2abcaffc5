"""Helpers shared by the reliability tests (tests/test_reliability_*.py).

- isolated: runs a test body in a forked child, so a segfault, an abort or a hang is
  reported as that test's failure instead of killing (or stalling) pytest.
- scaled: the example, file and kill counts of these tests, multiplied by
  GANKIT_RELIABILITY_SCALE (default 1; .ci/run uses less under the sanitizers, where
  everything runs several times slower). Every test still runs at any scale.
- record_count: appends a measured count (inputs tried, files fuzzed, kills survived)
  as one JSON line to the file named by GANKIT_RELIABILITY_COUNTS, when it is set; the
  docs/reliability.md quotes those counts.
- state_of: every part of a GAN's state (but the wall-clock column of its history), to
  check that a refused call changed nothing and that two runs ended identical.
"""
from __future__ import annotations

import functools
import json
import os
import pickle
import select
import signal
import time
import traceback

import numpy as np
import pytest

SCALE = float(os.environ.get("GANKIT_RELIABILITY_SCALE", "1"))


def scaled(count: int, minimum: int = 1) -> int:
    return max(minimum, int(round(count * SCALE)))


def record_count(name: str, value) -> None:
    print(f"reliability count: {name} = {value}")
    path = os.environ.get("GANKIT_RELIABILITY_COUNTS")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"name": name, "value": value}) + "\n")


def isolated(timeout: float = 300.0):
    """Decorator: run the test in a forked child (fixtures are set up in the parent and
    inherited). The child's exception comes back as the failure text; death by a signal
    or running past `timeout` seconds fails the test with what happened."""
    def decorate(test):
        @functools.wraps(test)
        def run_in_child(*args, **kwargs):
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: run, report, never return into pytest
                os.close(read_end)
                try:
                    test(*args, **kwargs)
                    payload = ("passed", "")
                except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent
                    payload = ("failed", "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
                with os.fdopen(write_end, "wb") as pipe:
                    pipe.write(pickle.dumps(payload))
                os._exit(0)
            os.close(write_end)
            report = _read_until(read_end, time.monotonic() + timeout)
            os.close(read_end)
            if report is None:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                pytest.fail(f"{test.__name__} did not finish within {timeout:.0f} s (a hang?)")
            _, status = os.waitpid(pid, 0)
            if os.WIFSIGNALED(status):
                name = signal.Signals(os.WTERMSIG(status)).name
                pytest.fail(f"{test.__name__} crashed the interpreter: killed by {name}")
            outcome, text = pickle.loads(report) if report else ("failed", "the child reported nothing")
            if outcome != "passed":
                pytest.fail(f"in the isolated child:\n{text}", pytrace=False)
        return run_in_child
    return decorate


def _read_until(fd: int, deadline: float):
    """Everything written to `fd` until EOF, or None if the deadline passes first."""
    chunks = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def state_of(gan) -> tuple:
    """Every part of a GAN's state that a call could change (its state_dict but the
    wall-clock column, which differs between two otherwise identical runs), as
    comparable values."""
    state = gan.state_dict()
    state["batch_rng_state"] = gan.batch_rng.bit_generator.state  # drawn or not yet
    return tuple((key, value.tobytes() if isinstance(value, np.ndarray) else repr(value))
                 for key, value in state.items() if key != "history.time")
