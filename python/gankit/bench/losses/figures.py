"""The benchmark's figures (PNG, needs matplotlib: pip install "gankit[plot]"), drawn from
what results.json holds, so they can be redrawn from a finished run with --replot.

Colour says the generator loss (non-saturating blue, minimax red), line style says k.
"""
from __future__ import annotations

import io
import os
from typing import Dict, List, Sequence

import numpy as np

from ..._atomic import atomic_write_bytes
from ...plotting import _pyplot, _smooth
from .setup import DatasetSpec

LOSS_COLORS = {"non_saturating": "tab:blue", "minimax": "tab:red"}
LINE_STYLES = ("-", "--", ":", "-.")
DPI = 80
PALETTE_COLORS = 128
SEEDS_SHOWN = 3
# The per-iteration gradient norms are noisy: a moving geometric mean over this many.
GRAD_SMOOTH = 5


def _style(g_loss: str, d_steps: int, all_k: Sequence[int]) -> dict:
    return {"color": LOSS_COLORS.get(g_loss, "black"),
            "linestyle": LINE_STYLES[sorted(all_k).index(d_steps) % len(LINE_STYLES)]}


def _variants(runs: Sequence[dict], dataset: str) -> Dict[tuple, List[dict]]:
    """(g_loss, k) -> that variant's successful runs of `dataset`, in run order."""
    groups: Dict[tuple, List[dict]] = {}
    for r in runs:
        s = r["spec"]
        if s["dataset"] == dataset and r["error"] is None:
            groups.setdefault((s["g_loss"], int(s["d_steps"])), []).append(r)
    return groups


def _band(ax, x, rows: np.ndarray, style: dict, label: str, geometric: bool = False) -> None:
    """The mean over rows (geometric for log axes) as a line, min to max as a band."""
    centre = np.exp(np.mean(np.log(rows), axis=0)) if geometric else np.mean(rows, axis=0)
    ax.plot(x, centre, label=label, linewidth=1.4, **style)
    ax.fill_between(x, rows.min(axis=0), rows.max(axis=0), color=style["color"], alpha=0.12, linewidth=0)


def _save(fig, out_dir: str, name: str) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    import matplotlib.pyplot as plt
    plt.close(fig)
    atomic_write_bytes(os.path.join(out_dir, name), _palette_png(buffer.getvalue()))
    return name


def _palette_png(png: bytes) -> bytes:
    """The figure with a PALETTE_COLORS palette: flat-colour line art loses nothing visible
    and the file shrinks to about a third, small enough to keep in the repository.
    Pillow comes with matplotlib."""
    from PIL import Image
    image = Image.open(io.BytesIO(png)).convert("RGB")
    # Pillow < 9.1 has the bare constants (both 0) instead of the enums.
    median_cut = getattr(getattr(Image, "Quantize", None), "MEDIANCUT", 0)
    no_dither = getattr(getattr(Image, "Dither", None), "NONE", 0)
    image = image.quantize(colors=PALETTE_COLORS, method=median_cut, dither=no_dither)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def plot_scores(runs, dataset: DatasetSpec, out_dir: str) -> str:
    plt = _pyplot()
    groups = _variants(runs, dataset.name)
    all_k = sorted({k for _, k in groups})
    fig, axes = plt.subplots(1, len(dataset.metrics), figsize=(4.6 * len(dataset.metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], dataset.metrics):
        for (g_loss, k), rs in groups.items():
            length = min(len(r["evals"]) for r in rs)
            x = [e["iteration"] for e in rs[0]["evals"][:length]]
            rows = np.array([[e[metric.name] for e in r["evals"][:length]] for r in rs], dtype=float)
            _band(ax, x, rows, _style(g_loss, k, all_k), f"{g_loss}, k={k}")
        for c in dataset.threshold:
            if c.metric == metric.name:
                ax.axhline(c.value, color="gray", linewidth=0.8, linestyle="--")
        ax.set_title(f"{metric.label} ({metric.better} is better)")
        ax.set_xlabel("iteration")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"{dataset.name}: scores along training (dashed grey: threshold)")
    fig.tight_layout()
    return _save(fig, out_dir, f"scores_{dataset.name}.png")


def _montage(images: np.ndarray, per_row: int = 4) -> np.ndarray:
    """8x8 images in a per_row-wide grid, as one 2-D array."""
    rows = -(-len(images) // per_row)
    canvas = np.full((rows * 8, per_row * 8), -1.0)
    for i, image in enumerate(images):
        r, c = divmod(i, per_row)
        canvas[r * 8:(r + 1) * 8, c * 8:(c + 1) * 8] = np.reshape(image, (8, 8))
    return canvas


def plot_samples(runs, dataset: DatasetSpec, out_dir: str, centers=None) -> str:
    """One column per variant, one row per seed (the first SEEDS_SHOWN)."""
    plt = _pyplot()
    groups = _variants(runs, dataset.name)
    rows = min(SEEDS_SHOWN, max(len(rs) for rs in groups.values()))
    fig, axes = plt.subplots(rows, len(groups), figsize=(2.2 * len(groups), 2.2 * rows + 0.4), squeeze=False)
    for col, ((g_loss, k), rs) in enumerate(groups.items()):
        for row in range(rows):
            ax = axes[row][col]
            ax.set_xticks([])
            ax.set_yticks([])
            if row >= len(rs):
                ax.axis("off")
                continue
            samples = np.asarray(rs[row]["samples"], dtype=float)
            if dataset.name == "digits":
                ax.imshow(_montage(samples), cmap="gray_r", vmin=-1, vmax=1)
            else:
                if centers is not None:
                    ax.scatter(centers[:, 0], centers[:, 1], marker="x", color="black", s=14, linewidths=0.8)
                ax.scatter(samples[:, 0], samples[:, 1], s=1.5, color=LOSS_COLORS.get(g_loss, "black"), alpha=0.5)
                lim = 1.0 if centers is None else 1.3 * np.abs(centers).max()
                ax.set_xlim(-lim, lim)
                ax.set_ylim(-lim, lim)
                ax.set_aspect("equal")
            if row == 0:
                ax.set_title(f"{g_loss}, k={k}", fontsize=8)
            if col == 0:
                ax.set_ylabel(f"seed {rs[row]['spec']['seed']}", fontsize=8)
    fig.suptitle(f"{dataset.name}: final samples", fontsize=10)
    fig.tight_layout()
    return _save(fig, out_dir, f"samples_{dataset.name}.png")


def plot_d_outputs(runs, dataset: DatasetSpec, out_dir: str) -> str:
    plt = _pyplot()
    groups = _variants(runs, dataset.name)
    losses = [g for g in LOSS_COLORS if any(v[0] == g for v in groups)]
    all_k = sorted({k for _, k in groups})
    fig, axes = plt.subplots(len(losses), len(all_k), figsize=(3.6 * len(all_k), 2.8 * len(losses)),
                             squeeze=False, sharey=True)
    for (g_loss, k), rs in groups.items():
        ax = axes[losses.index(g_loss)][all_k.index(k)]
        length = min(len(r["trace"]["iteration"]) for r in rs)
        x = rs[0]["trace"]["iteration"][:length]
        for name, label, color in (("d_real", "D(x)", "tab:green"), ("d_fake", "D(G(z))", "tab:purple")):
            rows = np.array([r["trace"][name][:length] for r in rs], dtype=float)
            _band(ax, x, rows, {"color": color, "linestyle": "-"}, label)
        ax.axhline(0.5, color="gray", linewidth=0.8, linestyle="--")
        ax.set_ylim(0, 1)
        ax.set_title(f"{g_loss}, k={k}", fontsize=9)
        ax.set_xlabel("iteration", fontsize=8)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"{dataset.name}: mean D(x) and D(G(z)) (dashed: D* = 1/2)", fontsize=10)
    fig.tight_layout()
    return _save(fig, out_dir, f"d_outputs_{dataset.name}.png")


def plot_gradient_view(view: Dict[str, Dict[str, list]], out_dir: str) -> str:
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    titles = ("generator loss L", "|dL/dD|: gradient w.r.t. D(G(z))", "|dL/dlogit|: gradient w.r.t. D's logit")
    formulas = {"minimax": ("log(1 − D)", "1/(1 − D)", "D"),
                "non_saturating": ("−log D", "1/D", "1 − D")}
    for kind, curve in view.items():
        d = np.asarray(curve["d"])
        style = {"color": LOSS_COLORS.get(kind, "black")}
        f = formulas.get(kind, ("", "", ""))
        axes[0].plot(d, curve["loss"], label=f"{kind}: {f[0]}", **style)
        axes[1].plot(d, np.abs(curve["d_d"]), label=f"{kind}: {f[1]}", **style)
        axes[2].plot(d, np.abs(curve["d_logit"]), label=f"{kind}: {f[2]}", **style)
    for ax, title, legend_at in zip(axes, titles, ("upper right", "upper center", "lower center")):
        ax.set_xscale("logit")
        ax.set_xlabel("D(G(z))")
        ax.set_title(title, fontsize=10)
        ax.axvspan(ax.get_xlim()[0], 0.01, color="gray", alpha=0.12, linewidth=0)
        ax.legend(fontsize=8, loc=legend_at)
    axes[1].set_yscale("log")
    axes[2].set_yscale("log")
    axes[0].text(0.03, 0.06, "grey: D rejects the fakes\nconfidently (early training):\n"
                 "minimax's gradient vanishes", transform=axes[0].transAxes, fontsize=7)
    fig.suptitle("the two generator losses, computed by gankit._core.generator_loss", fontsize=10)
    fig.tight_layout()
    return _save(fig, out_dir, "gradient_view.png")


def plot_grad_norms(runs, datasets: Sequence[DatasetSpec], out_dir: str) -> str:
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.8 * len(datasets), 3.6), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        groups = _variants(runs, dataset.name)
        all_k = sorted({k for _, k in groups})
        for (g_loss, k), rs in groups.items():
            dense = rs[0]["spec"]["grad_dense"]
            x = [it for it in rs[0]["grad_norm"]["iteration"] if it <= dense]
            rows = np.array([r["grad_norm"]["value"][:len(x)] for r in rs], dtype=float)
            logs = np.log(np.maximum(rows, 1e-30))  # a log axis; a zero gradient stays visible
            smooth = np.exp(np.array([_smooth(row, GRAD_SMOOTH) for row in logs]))
            _band(ax, x[len(x) - smooth.shape[1]:], smooth, _style(g_loss, k, all_k),
                  f"{g_loss}, k={k}", geometric=True)
        ax.set_yscale("log")
        ax.set_xlabel("iteration")
        ax.set_title(f"{dataset.name}", fontsize=10)
    axes[0][0].set_ylabel("‖∇G‖ (generator gradient norm)")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"measured generator gradient norm, first iterations (moving geometric mean over "
                 f"{GRAD_SMOOTH} iterations; line: geometric mean over seeds, band: min to max)", fontsize=9)
    fig.tight_layout()
    return _save(fig, out_dir, "grad_norms.png")


def plot_probe(probes: Sequence[dict], datasets: Sequence[DatasetSpec], out_dir: str) -> str:
    plt = _pyplot()
    fig, axes = plt.subplots(2, len(datasets), figsize=(4.6 * len(datasets), 6), squeeze=False)
    for col, dataset in enumerate(datasets):
        ok = [p for p in probes if p["spec"]["dataset"] == dataset.name and p["error"] is None]
        length = min(len(p["d_steps"]) for p in ok)
        x = np.asarray(ok[0]["d_steps"][:length], dtype=float) + 1  # log axis: step 0 at 1
        d_fake = np.maximum(np.array([p["d_fake"][:length] for p in ok], dtype=float), 1e-30)
        _band(axes[0][col], x, d_fake, {"color": "tab:purple", "linestyle": "-"}, "D(G(z))", geometric=True)
        for kind, color in LOSS_COLORS.items():
            rows = np.maximum(np.array([p["grad_norm"][kind][:length] for p in ok], dtype=float), 1e-30)
            _band(axes[1][col], x, rows, {"color": color, "linestyle": "-"}, kind, geometric=True)
        axes[0][col].set_title(dataset.name, fontsize=10)
        for ax in axes[:, col]:
            ax.set_xscale("log")
            ax.set_yscale("log")
        axes[1][col].set_xlabel("discriminator-only steps + 1")
    axes[0][0].set_ylabel("mean D(G(z))")
    axes[1][0].set_ylabel("‖∇G‖ of one generator step")
    axes[1][0].legend(fontsize=7)
    fig.suptitle("saturation probe: D trained alone against the initial G; both losses from the "
                 "same G, D and z (geometric mean over seeds, band: min to max)", fontsize=9)
    fig.tight_layout()
    return _save(fig, out_dir, "probe.png")


def draw_all(results: dict, datasets: Dict[str, DatasetSpec], out_dir: str) -> List[dict]:
    """Every figure into out_dir; [{"file", "caption"}]. ImportError without matplotlib."""
    import gankit as gk
    runs = results["runs"]
    present = [datasets[name] for name in results["datasets"]
               if any(r["spec"]["dataset"] == name and r["error"] is None for r in runs)]
    figures = []
    for ds in present:
        centers = None if ds.name == "digits" else gk.datasets.mixture(ds.name).centers
        figures += [
            {"file": plot_scores(runs, ds, out_dir),
             "caption": f"{ds.name}: scores along training (mean over seeds, band: min to max)"},
            {"file": plot_samples(runs, ds, out_dir, centers),
             "caption": f"{ds.name}: final samples of the first seeds of each variant"
                        + ("" if centers is None else ", mode centres as crosses")},
            {"file": plot_d_outputs(runs, ds, out_dir),
             "caption": f"{ds.name}: mean D(x) and D(G(z)) along training, with D* = 1/2"},
        ]
    figures.append({"file": plot_gradient_view(results["gradient_view"], out_dir),
                    "caption": "each generator loss and its gradient w.r.t. D(G(z)) and w.r.t. "
                               "the logit, from gankit's own loss kernel"})
    if present:
        figures.append({"file": plot_grad_norms(runs, present, out_dir),
                        "caption": "measured generator gradient norm over the first iterations "
                                   "(log scale)"})
    probes = results.get("probes", [])
    probed = [datasets[name] for name in results["datasets"]
              if any(p["spec"]["dataset"] == name and p["error"] is None for p in probes)]
    if probed:
        figures.append({"file": plot_probe(probes, probed, out_dir),
                        "caption": "saturation probe: D(G(z)) and the generator gradient norm of both "
                                   "losses as D alone learns to reject the initial G's fakes"})
    return figures
