"""The gradient view: each generator loss and its gradient, as functions of D(G(z)),
computed by gankit's own C++ loss kernel (gankit._core.generator_loss).

The kernel takes D's logits l and returns the batch mean of the loss and its gradient
with respect to each logit. Per sample, with D = sigmoid(l):

    minimax         L = log(1 - D)    dL/dl = -D        dL/dD = -1 / (1 - D)
    non_saturating  L = -log D        dL/dl = -(1 - D)  dL/dD = -1 / D

and dL/dD = (dL/dl) / (D (1 - D)). Near D = 0 (D rejects the fakes confidently) the
minimax gradient vanishes while the non-saturating one is largest, which is why
Goodfellow et al. (2014, section 3) train G with the latter; D's own loss is the same
for both.
"""
from __future__ import annotations

from typing import Dict

import numpy as np

from gankit import _core

from .setup import G_LOSSES

# Logits whose sigmoid spans D in [6e-6, 1 - 6e-6]: both ends of (0, 1) on a log scale.
LOGIT_RANGE = 12.0
LOGIT_POINTS = 481


def logit_grid(points: int = LOGIT_POINTS, span: float = LOGIT_RANGE) -> np.ndarray:
    """Evenly spaced float32 logits in [-span, span]."""
    return np.linspace(-span, span, points).astype(np.float32)


def loss_curves(kind: str, logits: np.ndarray) -> Dict[str, np.ndarray]:
    """For each logit: D = sigmoid(logit), the per-sample loss L and its gradients
    dL/dlogit and dL/dD, from the core's kernel (float64 arrays).

    One kernel call on all logits gives the gradient of their mean, i.e. each sample's
    own gradient divided by n; the loss values come from one call per logit, since the
    kernel returns only the mean."""
    logits = np.asarray(logits, dtype=np.float32)
    n = logits.size
    _, d_mean = _core.generator_loss(logits, kind)
    d_logit = np.asarray(d_mean, dtype=np.float64) * n
    loss = np.array([_core.generator_loss(logits[i:i + 1], kind)[0] for i in range(n)])
    l64 = logits.astype(np.float64)
    d = 1.0 / (1.0 + np.exp(-l64))
    # D(1 - D) written without the cancellation of 1 - D near D = 1.
    d_one_minus_d = np.exp(-np.abs(l64)) / (1.0 + np.exp(-np.abs(l64))) ** 2
    return {"logit": l64, "d": d, "loss": loss, "d_logit": d_logit, "d_d": d_logit / d_one_minus_d}


def gradient_view(points: int = LOGIT_POINTS) -> Dict[str, Dict[str, list]]:
    """loss_curves of both generator losses on logit_grid, as lists (for results.json)."""
    logits = logit_grid(points)
    return {kind: {k: v.tolist() for k, v in loss_curves(kind, logits).items()} for kind in G_LOSSES}
