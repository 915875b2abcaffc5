"""Optimizer settings. The update itself runs in C++ over each network's flat
parameter buffer (cpp/src/optimizer.cpp); these classes only carry and check settings
(as the float32 values the core will use).

Learning-rate schedules (both optimizers): the rate of update t (t = 1, 2, ... counted by
the network's optimizer step, which checkpoints keep) goes from `lr` to `final_lr` over
the first `schedule_steps` updates, with progress p = min(t - 1, S) / S:
"constant" lr; "linear" lr + (final_lr - lr) p; "cosine" final_lr + (lr - final_lr)(1 + cos(pi p)) / 2;
then stays at final_lr."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional

from . import _validation as check

SCHEDULES = ("constant", "linear", "cosine")


def _check_schedule(opt) -> None:
    """Validate and normalise the schedule fields of an optimizer dataclass in place."""
    schedule = check.choice(opt.schedule, "schedule", SCHEDULES)
    if schedule == "constant":
        if opt.schedule_steps is not None:
            raise ValueError("schedule_steps: only used with schedule 'linear' or 'cosine', got "
                             f"{check.brief(opt.schedule_steps)} with schedule 'constant'")
        steps = None
    else:
        if opt.schedule_steps is None:
            raise ValueError(f"schedule_steps: expected the number of updates schedule {schedule!r} "
                             "runs over (an integer >= 1), got None")
        steps = check.integer(opt.schedule_steps, "schedule_steps", low=1, high=2**62)
    final_lr = check.float32_number(opt.final_lr, "final_lr", low=0, high=opt.lr)
    object.__setattr__(opt, "schedule_steps", steps)
    object.__setattr__(opt, "final_lr", final_lr)


def core_arguments(opt):
    """(kind, lr, keyword options) of the core's Mlp.configure_optimizer for `opt`."""
    schedule = dict(schedule=opt.schedule, schedule_steps=opt.schedule_steps or 0, final_lr=opt.final_lr)
    if isinstance(opt, Adam):
        return "adam", opt.lr, dict(beta1=opt.beta1, beta2=opt.beta2, eps=opt.eps,
                                    weight_decay=opt.weight_decay, **schedule)
    return "sgd", opt.lr, dict(momentum=opt.momentum, weight_decay=opt.weight_decay, **schedule)


@dataclass(frozen=True)
class Adam:
    """Adam (Kingma & Ba) with optional L2 weight decay, as torch.optim.Adam, and an
    optional learning-rate schedule (module docstring).

    The defaults are the DCGAN settings (lr 2e-4, beta1 0.5) that GAN training uses."""

    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    schedule: str = "constant"
    schedule_steps: Optional[int] = None
    final_lr: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "lr", check.float32_number(self.lr, "lr", low=0, low_inclusive=False))
        object.__setattr__(self, "beta1", check.float32_number(self.beta1, "beta1", low=0, high=1, high_inclusive=False))
        object.__setattr__(self, "beta2", check.float32_number(self.beta2, "beta2", low=0, high=1, high_inclusive=False))
        object.__setattr__(self, "eps", check.float32_number(self.eps, "eps", low=0, low_inclusive=False))
        object.__setattr__(self, "weight_decay", check.float32_number(self.weight_decay, "weight_decay", low=0))
        _check_schedule(self)



@dataclass(frozen=True)
class SGD:
    """Stochastic gradient descent with optional momentum and L2 weight decay, and an
    optional learning-rate schedule (module docstring)."""

    lr: float = 0.01
    momentum: float = 0.0
    weight_decay: float = 0.0
    schedule: str = "constant"
    schedule_steps: Optional[int] = None
    final_lr: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "lr", check.float32_number(self.lr, "lr", low=0, low_inclusive=False))
        object.__setattr__(self, "momentum", check.float32_number(self.momentum, "momentum", low=0, high=1, high_inclusive=False))
        object.__setattr__(self, "weight_decay", check.float32_number(self.weight_decay, "weight_decay", low=0))
        _check_schedule(self)



# What a checkpoint written before schedules existed lacks: a constant rate.
SCHEDULE_DEFAULTS = {"schedule": "constant", "schedule_steps": None, "final_lr": 0.0}


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
    return {"kind": "adam" if isinstance(opt, Adam) else "sgd", **asdict(opt)}
