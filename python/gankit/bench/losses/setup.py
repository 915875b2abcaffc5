"""What the generator-loss benchmark runs: the datasets with their scores, budgets and
thresholds, the network architectures, and one run's full specification.

Everything here is plain data, so a run is described completely by a RunSpec (which
goes into results.json) and can be repeated from it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

G_LOSSES = ("non_saturating", "minimax")

# Digits are scored against this many held-out images, never trained on. The split is the
# same for every run (drawn with DIGITS_SPLIT_SEED), so all variants face the same test set.
DIGITS_HELD_OUT = 500
DIGITS_SPLIT_SEED = 0


@dataclass(frozen=True)
class Metric:
    """A score recorded along training. better: "higher" or "lower"; fmt: how the
    Markdown table prints it ("pct" prints a fraction as a percentage)."""
    name: str
    label: str
    better: str
    fmt: str


@dataclass(frozen=True)
class Condition:
    """One clause of a threshold: `metric op value`, op one of ">=", "<="."""
    metric: str
    op: str
    value: float

    def holds(self, scores: dict) -> bool:
        score = scores[self.metric]
        return score >= self.value if self.op == ">=" else score <= self.value

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"


@dataclass(frozen=True)
class DatasetSpec:
    """A benchmark dataset: its scores, the threshold whose first crossing times a run,
    and the iteration budgets (full run and --quick) shared by all its variants."""
    name: str
    metrics: Tuple[Metric, ...]
    threshold: Tuple[Condition, ...]
    max_iter: int
    eval_every: int
    quick_max_iter: int
    quick_eval_every: int
    note: str

    def reached(self, scores: dict) -> bool:
        return all(c.holds(scores) for c in self.threshold)

    def threshold_text(self) -> str:
        return " and ".join(str(c) for c in self.threshold)


MODE_METRICS = (
    Metric("modes_captured", "modes", "higher", ".1f"),
    Metric("high_quality_fraction", "high-quality", "higher", "pct"),
    Metric("reverse_kl", "reverse KL", "lower", ".3f"),
)
DIGITS_METRICS = (
    Metric("mmd2", "MMD²", "lower", ".4f"),
    Metric("nn1_accuracy", "1-NN acc.", "lower", ".3f"),
)

# Thresholds: a run "reaches" its dataset once every mode has a high-quality sample and at
# least this share of the samples is high quality (within 3 std of a centre), or, for
# digits, once the 1-NN two-sample test tells generated from held-out images apart at most
# this often (real images score about 0.49). The levels are round values that separate the
# variants at the default budgets: some reach them and others do not (benchmarks/README.md,
# "Generator losses").
RING_HQ_THRESHOLD = 0.3
GRID_HQ_THRESHOLD = 0.3
DIGITS_NN1_THRESHOLD = 0.85

# Budgets: generator iterations per run, the same for every variant of a dataset, sized so
# the full default run takes about half an hour on two cores (benchmarks/README.md,
# "Generator losses", gives the measured time); --max-iter sets longer ones.
DATASETS: Dict[str, DatasetSpec] = {
    "ring": DatasetSpec(
        "ring", MODE_METRICS,
        (Condition("modes_captured", ">=", 8), Condition("high_quality_fraction", ">=", RING_HQ_THRESHOLD)),
        max_iter=5000, eval_every=100, quick_max_iter=1000, quick_eval_every=100,
        note="8 Gaussians on the unit circle, std 0.01 (PacGAN, VEEGAN)"),
    "grid": DatasetSpec(
        "grid", MODE_METRICS,
        (Condition("modes_captured", ">=", 25), Condition("high_quality_fraction", ">=", GRID_HQ_THRESHOLD)),
        max_iter=3000, eval_every=100, quick_max_iter=500, quick_eval_every=50,
        note="25 Gaussians on {-4,-2,0,2,4}², std 0.05 (PacGAN)"),
    "digits": DatasetSpec(
        "digits", DIGITS_METRICS,
        (Condition("nn1_accuracy", "<=", DIGITS_NN1_THRESHOLD),),
        max_iter=2000, eval_every=100, quick_max_iter=500, quick_eval_every=100,
        note=f"scikit-learn's 8x8 digits in [-1, 1]; {DIGITS_HELD_OUT} held out for scoring"),
}

# k, the discriminator steps per generator step. 1 is the choice of Goodfellow et al.
# (2014) and the common default; 5 is the usual "strong critic" setting (WGAN's n_critic),
# where D is trained closest to optimal between generator steps and so rejects fakes most
# confidently: the regime in which the minimax loss saturates. A value in between
# (--d-steps 1,2,5) is left out of the default because it adds a third to the run time.
DEFAULT_D_STEPS = (1, 5)
DEFAULT_SEEDS = 5
QUICK = dict(datasets=("ring", "grid"), d_steps=(1, 5), seeds=2)


# -- architectures ----------------------------------------------------------------------
@dataclass(frozen=True)
class Network:
    """Hidden layer sizes and the other keyword arguments of gankit.MLP."""
    hidden: Tuple[int, ...]
    options: Tuple[Tuple[str, object], ...] = ()

    def build(self, n_in: int, n_out: int, **extra):
        import gankit as gk
        return gk.MLP([n_in, *self.hidden, n_out], **dict(self.options), **extra)


@dataclass(frozen=True)
class Architecture:
    """Both networks and the optimiser settings of one dataset. The generator's output
    activation is `g_output` (tanh for data in [-1, 1]); D always returns a logit."""
    generator: Network
    discriminator: Network
    noise_dim: int
    batch_size: int
    lr: float
    beta1: float = 0.5
    g_output: Optional[str] = None
    source: str = ""

    def build(self, data_dim: int):
        """(G, D) as fresh gankit.MLPs; the GAN initialises their weights from its seed."""
        G = self.generator.build(self.noise_dim, data_dim, output=self.g_output)
        D = self.discriminator.build(data_dim, 1)
        return G, D

    def as_dict(self) -> dict:
        out = dataclasses.asdict(self)
        for net in ("generator", "discriminator"):
            out[net]["options"] = dict(getattr(self, net).options)
        return out


def _from_cli_defaults(dataset: str) -> Architecture:
    """The networks `gankit train --dataset NAME` uses (gankit.cli.DEFAULTS)."""
    from ...cli import DEFAULTS
    d = DEFAULTS[dataset]
    return Architecture(Network(tuple(d["g_hidden"]), (("activation", d["g_activation"]),)),
                        Network(tuple(d["d_hidden"]), (("activation", d["d_activation"]),)),
                        noise_dim=d["noise_dim"], batch_size=d["batch_size"], lr=d["lr"],
                        g_output="tanh" if dataset == "digits" else None,
                        source="gankit.cli.DEFAULTS")


def _paper(dataset: str) -> Architecture:
    """PacGAN/VEEGAN's 2-D networks: G 4x400 ReLU with batch norm, D 3x200 maxout with 5
    pieces. Noise, batch and learning rate stay those of the CLI defaults."""
    cli = _from_cli_defaults(dataset)
    return dataclasses.replace(
        cli, generator=Network((400,) * 4, (("activation", "relu"), ("batch_norm", True))),
        discriminator=Network((200,) * 3, (("activation", "maxout"), ("pieces", 5))),
        source="PacGAN (Lin et al. 2018) / VEEGAN (Srivastava et al. 2017) networks, "
               "CLI optimiser settings")


# --arch NAME -> dataset -> Architecture. Adding one is an entry here.
ARCHITECTURES = {
    "cli": {name: (lambda name=name: _from_cli_defaults(name)) for name in DATASETS},
    "paper": {name: (lambda name=name: _paper(name)) for name in ("ring", "grid")},
}


def architecture(arch: str, dataset: str) -> Architecture:
    """The architecture named `arch` for `dataset`; ValueError if there is none or if this
    gankit build cannot make its networks (e.g. an MLP option it does not have yet)."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"--arch: expected one of {', '.join(sorted(ARCHITECTURES))}, got {arch!r}")
    table = ARCHITECTURES[arch]
    if dataset not in table:
        raise ValueError(f"--arch {arch}: defined for {', '.join(sorted(table))} only, "
                         f"not for dataset {dataset!r}")
    spec = table[dataset]()
    for role, net in (("generator", spec.generator), ("discriminator", spec.discriminator)):
        try:
            net.build(2, 1)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"--arch {arch}: this gankit build cannot make the {role} "
                             f"(gankit.MLP options {dict(net.options)}): {exc}") from exc
    return spec


# -- one run ------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunSpec:
    """Everything that determines one training run; the same RunSpec gives the same
    numbers (timings aside). seed seeds the data draw, both networks' weights, the noise
    and the batches; the scoring noise comes from its own stream of the same seed."""
    dataset: str
    g_loss: str
    d_steps: int
    seed: int
    max_iter: int
    eval_every: int
    eval_samples: int
    grad_dense: int
    grad_every: int
    arch: str
    architecture: Architecture = field(compare=False)
    n_data: int = 50_000

    @property
    def variant(self) -> Tuple[str, int]:
        return (self.g_loss, self.d_steps)

    def label(self) -> str:
        return f"{self.dataset} {self.g_loss} k={self.d_steps} seed {self.seed}"

    def as_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["architecture"] = self.architecture.as_dict()
        return out


def run_specs(cfg: dict) -> List[RunSpec]:
    """Every run, dataset by dataset, variant by variant, seed by seed."""
    specs = []
    for dataset in cfg["datasets"]:
        arch = architecture(cfg["arch"], dataset)
        for g_loss in cfg["g_losses"]:
            for k in cfg["d_steps"]:
                for seed in range(cfg["seeds"]):
                    specs.append(RunSpec(dataset, g_loss, k, seed, cfg["max_iter"][dataset],
                                         cfg["eval_every"][dataset], cfg["eval_samples"],
                                         min(cfg["grad_dense"], cfg["max_iter"][dataset]),
                                         cfg["grad_every"], cfg["arch"], arch))
    return specs
