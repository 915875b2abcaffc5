"""The record of a training run: one entry per iteration, and why it stopped."""
from __future__ import annotations

from typing import Dict, Optional

import numpy as np

from . import _validation as check
from ._atomic import atomic_write_bytes

FIELDS = ("d_loss", "g_loss", "d_real", "d_fake", "time")


class History:
    """Per-iteration d_loss, g_loss, d_real (mean D(x)), d_fake (mean D(G(z))) and
    time (seconds since the run began, across resumes); `stop_reason` of the last fit.

    d_loss, d_real and d_fake are averaged over the iteration's k discriminator steps;
    g_loss is the generator step's. `hist["d_loss"]` is a float64 NumPy array."""

    def __init__(self):
        self._columns: Dict[str, list] = {f: [] for f in FIELDS}
        self.stop_reason: Optional[str] = None

    def append(self, d_loss, g_loss, d_real, d_fake, time) -> None:
        for name, value in zip(FIELDS, (d_loss, g_loss, d_real, d_fake, time)):
            self._columns[name].append(float(value))

    def __len__(self) -> int:
        return len(self._columns["d_loss"])

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._columns:
            raise KeyError(f"history has no column {name!r}; columns: {', '.join(FIELDS)}")
        return np.asarray(self._columns[name], dtype=np.float64)

    def keys(self):
        return FIELDS

    def last(self, name: str, window: int) -> np.ndarray:
        """The last `window` entries of a column (fewer if the run is shorter)."""
        window = check.integer(window, "window", low=1)
        return np.asarray(self[name][-window:], dtype=np.float64)

    def truncate(self, n: int) -> None:
        """Keep the first n entries (used when a diverged step is rolled back)."""
        n = check.integer(n, "n", low=0)
        for column in self._columns.values():
            del column[n:]

    def __repr__(self) -> str:
        return f"History({len(self)} iterations, stop_reason={self.stop_reason!r})"

    # -- persistence -----------------------------------------------------------------
    def to_arrays(self) -> Dict[str, np.ndarray]:
        return {f"history.{name}": self[name] for name in FIELDS}

    @classmethod
    def from_arrays(cls, arrays: Dict[str, np.ndarray], stop_reason: Optional[str]) -> "History":
        if stop_reason is not None and not isinstance(stop_reason, str):
            raise ValueError(f"stop_reason: expected a string or None, got {check.brief(stop_reason)}")
        for name in FIELDS:
            column = arrays[f"history.{name}"]
            if column.dtype != np.float64 or column.ndim != 1:
                raise ValueError(f"history.{name}: expected a 1-D float64 array, got {column.dtype} {column.shape}")
        hist = cls()
        lengths = {len(arrays[f"history.{name}"]) for name in FIELDS}
        if len(lengths) != 1:
            raise ValueError(f"history columns have different lengths: {sorted(lengths)}")
        for name in FIELDS:
            hist._columns[name] = [float(v) for v in arrays[f"history.{name}"]]
        hist.stop_reason = stop_reason
        return hist

    def to_csv(self, path) -> None:
        """Write `iteration,d_loss,g_loss,d_real,d_fake,time` rows (atomically)."""
        lines = ["iteration," + ",".join(FIELDS)]
        columns = [self._columns[name] for name in FIELDS]
        for i, row in enumerate(zip(*columns)):
            lines.append(f"{i + 1}," + ",".join(repr(v) for v in row))
        atomic_write_bytes(check.path(path, "path"), ("\n".join(lines) + "\n").encode())

    def plot(self, path=None, smooth: int = 50):
        """Loss and D-output curves (needs matplotlib: pip install "gankit[plot]").
        Saves to `path` when given; returns the figure."""
        from .plotting import plot_history
        return plot_history(self, path, smooth)
