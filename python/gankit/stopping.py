"""Stop rules for GAN.fit: an iteration budget, a minimum loss, and equilibrium, where
the optimal discriminator D* = p_data / (p_data + p_G) is 1/2 everywhere once p_G = p_data
(Goodfellow et al., "Generative Adversarial Nets", 2014, Proposition 1); each optional,
the first to hold wins."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from . import _validation as check
from .history import History

LOSS_COLUMNS = ("g_loss", "d_loss")


@dataclass(frozen=True)
class StopRules:
    """max_iter: total iterations of the run (resumed runs count what came before).
    min_loss: stop once the mean of `min_loss_on` over the last `window` iterations is
    at or below it. equilibrium_tol: stop once the means of d_real and d_fake over the
    last `window` iterations are both within tol of 0.5. Window rules wait for a full
    window, so they never fire on a run's first noisy iterations."""

    max_iter: int
    min_loss: Optional[float] = None
    min_loss_on: str = "g_loss"
    equilibrium_tol: Optional[float] = None
    window: int = 100

    def __post_init__(self):
        object.__setattr__(self, "max_iter", check.integer(self.max_iter, "max_iter", low=1))
        if self.min_loss is not None:
            object.__setattr__(self, "min_loss", check.real_number(self.min_loss, "min_loss"))
        check.choice(self.min_loss_on, "min_loss_on", LOSS_COLUMNS)
        if self.equilibrium_tol is not None:
            object.__setattr__(self, "equilibrium_tol", check.real_number(
                self.equilibrium_tol, "equilibrium_tol", low=0, high=0.5, low_inclusive=False))
        object.__setattr__(self, "window", check.integer(self.window, "window", low=1))

    def reason_to_stop(self, history: History) -> Optional[str]:
        """The rule that holds after the latest iteration, or None. Windows span the
        whole history, resumed parts included, so a resumed run stops where an
        uninterrupted one would."""
        if len(history) >= self.max_iter:
            return "max_iter"
        if len(history) < self.window:
            return None
        if self.min_loss is not None:
            if np.mean(history.last(self.min_loss_on, self.window)) <= self.min_loss:
                return "min_loss"
        if self.equilibrium_tol is not None:
            d_real = np.mean(history.last("d_real", self.window))
            d_fake = np.mean(history.last("d_fake", self.window))
            if abs(d_real - 0.5) <= self.equilibrium_tol and abs(d_fake - 0.5) <= self.equilibrium_tol:
                return "equilibrium"
        return None
