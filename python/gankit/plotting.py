"""Figures for a run (optional: needs matplotlib, pip install "gankit[plot]")."""
from __future__ import annotations

import numpy as np


def _pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError('plotting needs matplotlib: pip install "gankit[plot]"') from exc
    return plt


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or len(values) < window:
        return values
    kernel = np.ones(window) / window
    return np.convolve(values, kernel, mode="valid")


def plot_history(history, path=None, smooth: int = 50):
    """Losses (left) and mean D(x), D(G(z)) with the equilibrium line at 0.5 (right)."""
    plt = _pyplot()
    fig, (ax_loss, ax_d) = plt.subplots(1, 2, figsize=(11, 4))
    for name in ("d_loss", "g_loss"):
        values = _smooth(history[name], smooth)
        ax_loss.plot(np.arange(len(values)) + 1, values, label=name)
    ax_loss.set_xlabel("iteration")
    ax_loss.set_title(f"losses (moving mean over {smooth})")
    ax_loss.legend()
    for name, label in (("d_real", "D(x)"), ("d_fake", "D(G(z))")):
        values = _smooth(history[name], smooth)
        ax_d.plot(np.arange(len(values)) + 1, values, label=label)
    ax_d.axhline(0.5, color="gray", linestyle="--", linewidth=1, label="D* = 1/2")
    ax_d.set_ylim(0, 1)
    ax_d.set_xlabel("iteration")
    ax_d.set_title("discriminator outputs")
    ax_d.legend()
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig


def plot_samples(samples: np.ndarray, data: np.ndarray, path=None, title: str = "", centers=None):
    """Generated samples over the data: a scatter for 2-D, histograms for 1-D, an image
    grid for 8x8 digits (64 features)."""
    plt = _pyplot()
    dim = samples.shape[1]
    if dim == 64:
        fig, axes = plt.subplots(4, 8, figsize=(8, 4))
        for ax, image in zip(axes.ravel(), samples[:32]):
            ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=-1, vmax=1)
            ax.axis("off")
    else:
        fig, ax = plt.subplots(figsize=(5.5, 5))
        if dim == 1:
            bins = np.linspace(min(data.min(), samples.min()), max(data.max(), samples.max()), 80)
            ax.hist(data[:, 0], bins=bins, density=True, alpha=0.5, label="data")
            ax.hist(samples[:, 0], bins=bins, density=True, alpha=0.5, label="generated")
        else:
            ax.scatter(data[:, 0], data[:, 1], s=2, alpha=0.3, label="data")
            ax.scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.5, label="generated")
            if centers is not None:
                ax.scatter(centers[:, 0], centers[:, 1], marker="x", color="black", s=30, label="modes")
            ax.set_aspect("equal")
        ax.legend(loc="upper right", markerscale=4)
    fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
