"""The saturation probe: Goodfellow et al. (2014)'s argument for the non-saturating loss
checked on real networks, paired.

Early in learning, they argue, D rejects G's samples with high confidence and
log(1 - D(G(z))) saturates, giving G almost no gradient. In full training runs D rarely
gets far from D(G(z)) = 1/2 early on, so that regime may never show. The probe creates
it on purpose: two GANs, one per generator loss, built from the same seed (so identical
G, D and noise stream), train only their discriminators on the same batches against
the fixed initial generator. D's loss is the same for both losses, so their
discriminators stay identical. After 0, 1, 3, 10, ... D steps, each GAN takes one
generator step on the same fixed noise, and the norm of G's gradient is recorded; then
the generator's parameters and optimizer state are put back, so the D training goes on
against the initial G. Both norms therefore come from the same G, D and z, and differ
only by the generator loss.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import List

import numpy as np

import gankit as gk

from .scoring import training_data
from .setup import Architecture, architecture

PROBE_Z_STREAM = 0x9B0E
# D steps after which the generator's gradient is measured (those up to the probe's length).
PROBE_POINTS = (0, 1, 3, 10, 30, 100, 300, 1000, 3000)


@dataclass(frozen=True)
class ProbeSpec:
    dataset: str
    seed: int
    d_steps: int  # discriminator-only steps in all
    arch: str
    architecture: Architecture
    n_data: int = 50_000
    probe_samples: int = 1024

    def label(self) -> str:
        return f"probe {self.dataset} seed {self.seed} ({self.d_steps} D steps)"

    def as_dict(self) -> dict:
        out = {k: getattr(self, k) for k in ("dataset", "seed", "d_steps", "arch", "n_data", "probe_samples")}
        out["architecture"] = self.architecture.as_dict()
        return out


def probe_specs(cfg: dict) -> List[ProbeSpec]:
    """One saturation probe per dataset and seed (none when probe_steps is 0)."""
    if not cfg["probe_steps"]:
        return []
    return [ProbeSpec(dataset, seed, cfg["probe_steps"], cfg["arch"], architecture(cfg["arch"], dataset))
            for dataset in cfg["datasets"] for seed in range(cfg["seeds"])]


class _GeneratorState:
    """A copy of G's state (MLP.state_dict: parameters, optimizer state and step), to undo
    a generator step."""

    def __init__(self, G):
        self.state = {key: value.copy() if isinstance(value, np.ndarray) else value
                      for key, value in G.state_dict().items()}

    def restore(self, G) -> None:
        G.load_state_dict(self.state)


def _gan(spec: ProbeSpec, g_loss: str, data_dim: int):
    arch = spec.architecture
    G, D = arch.build(data_dim)
    return gk.GAN(G, D, noise_dim=arch.noise_dim, g_loss=g_loss,
                  d_optimizer=gk.Adam(lr=arch.lr, beta1=arch.beta1),
                  g_optimizer=gk.Adam(lr=arch.lr, beta1=arch.beta1), seed=spec.seed)


def _generator_gradient_norm(gan, z: np.ndarray) -> tuple:
    """(||grad of G||, mean D(G(z))) of one generator step on z, with the step undone."""
    saved = _GeneratorState(gan.G)
    result = gan.g_step(z)
    norm = float(np.linalg.norm(gan.G.grads.astype(np.float64)))
    saved.restore(gan.G)
    return norm, float(result.d_fake)


def probe_one(spec: ProbeSpec) -> dict:
    """The probe's record: at each D-step count, mean D(G(z)) and the generator's
    gradient norm for both losses; `paired` says the two discriminators stayed identical."""
    cpu_start = time.process_time()
    data = training_data(spec.dataset, spec.seed, spec.n_data)
    gans = {kind: _gan(spec, kind, data.shape[1]) for kind in ("minimax", "non_saturating")}
    z = np.random.default_rng(np.random.SeedSequence([spec.seed, PROBE_Z_STREAM])) \
        .standard_normal((spec.probe_samples, spec.architecture.noise_dim)).astype(np.float32)
    batches = np.random.default_rng(np.random.SeedSequence([spec.seed, PROBE_Z_STREAM, 1]))
    points = [p for p in PROBE_POINTS if p <= spec.d_steps]
    out = {"spec": spec.as_dict(), "error": None, "d_steps": [], "d_fake": [],
           "grad_norm": {kind: [] for kind in gans}}
    done = 0
    for point in points:
        while done < point:
            batch = data[batches.integers(0, len(data), spec.architecture.batch_size)]
            for gan in gans.values():
                gan.d_step(batch)
            done += 1
        d_fakes = []
        for kind, gan in gans.items():
            norm, d_fake = _generator_gradient_norm(gan, z)
            out["grad_norm"][kind].append(norm)
            d_fakes.append(d_fake)
        out["d_steps"].append(point)
        out["d_fake"].append(d_fakes[0])
    out["paired"] = bool(np.array_equal(gans["minimax"].D.params, gans["non_saturating"].D.params))
    out["cpu_seconds"] = time.process_time() - cpu_start
    return out


def failed_probe(spec: ProbeSpec, error: str) -> dict:
    return {"spec": spec.as_dict(), "error": error, "d_steps": [], "d_fake": [],
            "grad_norm": {"minimax": [], "non_saturating": []}, "paired": False, "cpu_seconds": None}


def summarize_probes(probes: List[dict]) -> List[dict]:
    """Per dataset and D-step count: geometric means over seeds of D(G(z)) and of each
    loss's gradient norm, and of their ratio minimax / non-saturating."""
    rows = []
    datasets = list(dict.fromkeys(p["spec"]["dataset"] for p in probes if p["error"] is None))
    for dataset in datasets:
        ok = [p for p in probes if p["spec"]["dataset"] == dataset and p["error"] is None]
        length = min(len(p["d_steps"]) for p in ok)
        for i in range(length):
            mm = np.array([p["grad_norm"]["minimax"][i] for p in ok])
            ns = np.array([p["grad_norm"]["non_saturating"][i] for p in ok])
            rows.append({"dataset": dataset, "d_steps": ok[0]["d_steps"][i], "seeds": len(ok),
                         "d_fake": _geomean([p["d_fake"][i] for p in ok]),
                         "grad_norm_minimax": _geomean(mm), "grad_norm_non_saturating": _geomean(ns),
                         "ratio": _geomean(mm / np.maximum(ns, 1e-300))})
    return rows


def _geomean(values) -> float:
    v = np.maximum(np.asarray(values, dtype=np.float64), 1e-300)  # a zero stays representable
    return float(np.exp(np.mean(np.log(v))))
