"""The published numbers the benchmark sets its table beside: PacGAN's Table 1.

Each entry is (mean, ± value) as printed, high-quality fraction in percent. The ± values
are standard errors over the paper's 10 trials. To correct a number, edit TABLE1.
"""
from __future__ import annotations

SOURCE = ("Z. Lin, A. Khetan, G. Fanti, S. Oh, \"PacGAN: The power of two samples in generative "
          "adversarial networks\", NeurIPS 2018, Table 1 (arXiv:1712.04086), as published in the "
          "authors' code, github.com/fjxmlzn/PacGAN, synthetic_data_experiments/results/Table1.png")
STATISTIC = "mean ± standard error over 10 trials"
SETTING = ("their networks (G 4×400 bias-free linear, batch norm, ReLU; D 3×200 maxout with 5 pieces), "
           "Adam lr 1e-4, beta1 0.8, batch 100, 400 epochs of 1,000 steps (400,000), D and G updated "
           "together; 100,000 training points; 2,500 samples from a fixed noise batch per trial; the GAN "
           "row is the authors' own pack-1 run (the measures follow VEEGAN, Srivastava et al. 2017)")

# dataset -> paper row -> {score: (mean, ±)}; high_quality in percent.
TABLE1 = {
    "ring": {
        "GAN": {"modes": (6.3, 0.5), "high_quality": (98.2, 0.2), "reverse_kl": (0.45, 0.09)},
        "PacGAN2": {"modes": (7.9, 0.1), "high_quality": (95.6, 2.0), "reverse_kl": (0.07, 0.03)},
        "PacGAN3": {"modes": (7.8, 0.1), "high_quality": (97.7, 0.3), "reverse_kl": (0.10, 0.02)},
        "PacGAN4": {"modes": (7.8, 0.1), "high_quality": (95.9, 1.4), "reverse_kl": (0.07, 0.02)},
    },
    "grid": {
        "GAN": {"modes": (17.3, 0.8), "high_quality": (94.8, 0.7), "reverse_kl": (0.70, 0.07)},
        "PacGAN2": {"modes": (23.8, 0.7), "high_quality": (91.3, 0.8), "reverse_kl": (0.13, 0.04)},
        "PacGAN3": {"modes": (24.6, 0.4), "high_quality": (94.2, 0.4), "reverse_kl": (0.06, 0.02)},
        "PacGAN4": {"modes": (24.8, 0.2), "high_quality": (93.6, 0.6), "reverse_kl": (0.04, 0.01)},
    },
}


def as_dict() -> dict:
    """The table with its provenance, as results.json records it."""
    return {"source": SOURCE, "statistic": STATISTIC, "setting": SETTING,
            "table": {d: {row: {k: list(v) for k, v in scores.items()} for row, scores in rows.items()}
                      for d, rows in TABLE1.items()}}
