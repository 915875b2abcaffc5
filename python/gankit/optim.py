"""Optimizer settings. The update itself runs in C++ over each network's flat
parameter buffer (cpp/src/optimizer.cpp); these classes only carry and check settings
(as the float32 values the core will use)."""
from __future__ import annotations

from dataclasses import dataclass

from . import _validation as check


@dataclass(frozen=True)
class Adam:
    """Adam (Kingma & Ba) with optional L2 weight decay, as torch.optim.Adam.

    The defaults are the DCGAN settings (lr 2e-4, beta1 0.5) that GAN training uses."""

    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "lr", check.float32_number(self.lr, "lr", low=0, low_inclusive=False))
        object.__setattr__(self, "beta1", check.float32_number(self.beta1, "beta1", low=0, high=1, high_inclusive=False))
        object.__setattr__(self, "beta2", check.float32_number(self.beta2, "beta2", low=0, high=1, high_inclusive=False))
        object.__setattr__(self, "eps", check.float32_number(self.eps, "eps", low=0, low_inclusive=False))
        object.__setattr__(self, "weight_decay", check.float32_number(self.weight_decay, "weight_decay", low=0))

    def _configure(self, core_net) -> None:
        core_net.configure_optimizer("adam", self.lr, beta1=self.beta1, beta2=self.beta2,
                                     eps=self.eps, weight_decay=self.weight_decay)


@dataclass(frozen=True)
class SGD:
    """Stochastic gradient descent with optional momentum and L2 weight decay."""

    lr: float = 0.01
    momentum: float = 0.0
    weight_decay: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "lr", check.float32_number(self.lr, "lr", low=0, low_inclusive=False))
        object.__setattr__(self, "momentum", check.float32_number(self.momentum, "momentum", low=0, high=1, high_inclusive=False))
        object.__setattr__(self, "weight_decay", check.float32_number(self.weight_decay, "weight_decay", low=0))

    def _configure(self, core_net) -> None:
        core_net.configure_optimizer("sgd", self.lr, momentum=self.momentum,
                                     weight_decay=self.weight_decay)


def optimizer_from_dict(d: dict):
    """Rebuild an optimizer from `asdict(opt) | {"kind": ...}` (used by checkpoints)."""
    d = dict(d)
    kind = d.pop("kind", None)
    if kind == "adam":
        return Adam(**d)
    if kind == "sgd":
        return SGD(**d)
    raise ValueError(f"optimizer kind: expected 'adam' or 'sgd', got {check.brief(kind)}")


def optimizer_to_dict(opt) -> dict:
    from dataclasses import asdict
    return {"kind": "adam" if isinstance(opt, Adam) else "sgd", **asdict(opt)}
