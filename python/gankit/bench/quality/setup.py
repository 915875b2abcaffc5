"""What the sample-quality benchmark runs: the datasets, each dataset's base recipe, the
table's rows (the base recipe plus overrides, or the `gankit train` defaults) and one
run's full specification.

Everything here is plain data: a RunSpec describes a run completely, goes into
results.json, and the same RunSpec gives the same numbers. The base recipe is
gankit.cli.DEFAULTS (retune it there, and `gankit train` follows); the rows are ROWS.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

# PacGAN's two 2-D mixtures (gankit.datasets.mixture): the ring of 8 modes (radius 1,
# std 0.01) and the grid of 25 modes on {-4,-2,0,2,4}^2 (std 0.05).
DATASETS = ("ring", "grid")
DATASET_NOTES = {
    "ring": "8 Gaussians on the unit circle, std 0.01",
    "grid": "25 Gaussians on {-4,-2,0,2,4}², std 0.05",
}

G_LOSS = "non_saturating"
DEFAULT_SEEDS = 10  # the paper's 10 trials
QUICK_SEEDS = 3
DEFAULT_EVAL_SAMPLES = 2500  # the paper's samples per trial

# The settings every row starts from: those of `gankit train --dataset NAME`
# (gankit.cli.DEFAULTS, one source for both), less what the rows vary: packing and
# generator averaging.
RECIPE_KEYS = ("n", "g_hidden", "d_hidden", "g_activation", "d_activation", "noise_dim", "batch_size", "max_iter",
               "d_steps", "lr", "d_lr_ratio", "beta1", "schedule", "final_lr_ratio")


# Recipe fields newer than some results.json files, with the value those runs used:
# results written before D had its own learning rate trained it at G's.
RECIPE_FIELDS_ADDED = {"d_lr_ratio": 1.0}

# What a base recipe leaves to the rows: no packing, no generator averaging.
ROW_DEFAULTS = dict(pack=1, ema=None)


def cli_recipe(dataset: str, keys=RECIPE_KEYS + tuple(ROW_DEFAULTS)) -> dict:
    """What `gankit train --dataset NAME` runs (its `keys`), read from gankit.cli.DEFAULTS now."""
    from ...cli import DEFAULTS
    return {key: DEFAULTS[dataset][key] for key in keys}


BASE_RECIPES: Dict[str, dict] = {name: cli_recipe(name, RECIPE_KEYS) for name in DATASETS}


@dataclass(frozen=True)
class Row:
    """One row of the table: `overrides` on the dataset's base recipe, or (base "cli")
    exactly what `gankit train --dataset NAME` runs. paper: the PacGAN Table 1 row it
    reproduces, if any."""
    name: str
    overrides: Tuple[Tuple[str, object], ...] = ()
    base: str = "recipe"
    paper: Optional[str] = None


ROWS: Tuple[Row, ...] = (
    Row("GAN", (("pack", 1), ("ema", None)), paper="GAN"),
    Row("GAN + averaging", (("pack", 1), ("ema", 0.999))),
    Row("PacGAN2", (("pack", 2), ("ema", None)), paper="PacGAN2"),
    Row("PacGAN3", (("pack", 3), ("ema", None)), paper="PacGAN3"),
    Row("PacGAN4", (("pack", 4), ("ema", None)), paper="PacGAN4"),
    Row("gankit default", base="cli"),  # as `gankit train` counts its default batch
)
ROW_NAMES = tuple(row.name for row in ROWS)
ROWS_BY_NAME = {row.name: row for row in ROWS}


@dataclass(frozen=True)
class Recipe:
    """Every training setting of a run. batch_size is the samples per step;
    requested_batch_size the recipe's batch, which counts D's inputs: packs of `pack`
    samples (gankit.cli.default_batch_size), so every row gives D as many inputs per step."""
    n: int
    g_hidden: Tuple[int, ...]
    d_hidden: Tuple[int, ...]
    g_activation: str
    d_activation: str
    noise_dim: int
    batch_size: int
    requested_batch_size: int
    max_iter: int
    d_steps: int
    lr: float
    d_lr_ratio: float  # D's learning rate / G's
    beta1: float
    schedule: str
    final_lr_ratio: float
    pack: int
    ema: Optional[float]
    source: str


def recipe(dataset: str, row: Row, max_iter: Optional[int] = None) -> Recipe:
    """Row `row` of `dataset`: its settings, with max_iter replaced when given and the
    batch in samples, as `gankit train` counts it (gankit.cli.default_batch_size)."""
    if row.base == "cli":
        settings, source = cli_recipe(dataset), "gankit.cli.DEFAULTS"
    else:
        settings = {**BASE_RECIPES[dataset], **ROW_DEFAULTS, **dict(row.overrides)}
        source = "BASE_RECIPES + row overrides"
    if max_iter is not None:
        settings["max_iter"] = max_iter
    from ...cli import default_batch_size
    pack = int(settings["pack"])
    used = default_batch_size(settings, pack)
    requested = int(settings.pop("batch_size"))
    return Recipe(n=int(settings["n"]), g_hidden=tuple(int(h) for h in settings["g_hidden"]),
                  d_hidden=tuple(int(h) for h in settings["d_hidden"]),
                  g_activation=str(settings["g_activation"]), d_activation=str(settings["d_activation"]),
                  noise_dim=int(settings["noise_dim"]),
                  batch_size=used, requested_batch_size=requested, max_iter=int(settings["max_iter"]),
                  d_steps=int(settings["d_steps"]), lr=float(settings["lr"]),
                  d_lr_ratio=float(settings["d_lr_ratio"]),
                  beta1=float(settings["beta1"]), schedule=str(settings["schedule"]),
                  final_lr_ratio=float(settings["final_lr_ratio"]), pack=pack,
                  ema=float(settings["ema"]) if settings["ema"] else None, source=source)


@dataclass(frozen=True)
class RunSpec:
    """One training run: row `row` of `dataset` with seed `seed`. The seed draws the
    data, initialises both networks and drives the GAN's noise and batches; the scored
    samples come from a fixed noise matrix of the seed's own stream."""
    dataset: str
    row: str
    seed: int
    recipe: Recipe
    eval_samples: int = DEFAULT_EVAL_SAMPLES
    g_loss: str = G_LOSS

    def label(self) -> str:
        return f"{self.dataset} {self.row} seed {self.seed}"

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "RunSpec":
        fields = dict(data["recipe"])
        fields["g_hidden"], fields["d_hidden"] = tuple(fields["g_hidden"]), tuple(fields["d_hidden"])
        if "activation" in fields:  # results written before G and D had an activation each
            fields["g_activation"] = fields["d_activation"] = fields.pop("activation")
        fields = {**RECIPE_FIELDS_ADDED, **fields}
        return cls(**{**data, "recipe": Recipe(**fields)})


def run_specs(datasets, rows, seeds: int, eval_samples: int, max_iter: Optional[int]) -> List[RunSpec]:
    """Every run, dataset by dataset, row by row, seed by seed (0..seeds-1)."""
    return [RunSpec(dataset, name, seed, recipe(dataset, ROWS_BY_NAME[name], max_iter), eval_samples)
            for dataset in datasets for name in rows for seed in range(seeds)]
