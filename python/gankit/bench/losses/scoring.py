"""Training data and sample-quality scores of the generator-loss benchmark, per dataset.

Scores use the public gankit.metrics API: mode_scores for the Gaussian mixtures (modes
captured, high-quality fraction, reverse KL), mmd2 and nn1_accuracy against held-out
real images for digits.
"""
from __future__ import annotations

from typing import Callable, Dict, Tuple

import numpy as np

import gankit as gk

from .setup import DIGITS_HELD_OUT, DIGITS_SPLIT_SEED


def digits_split() -> Tuple[np.ndarray, np.ndarray]:
    """(train, held_out) rows of the 8x8 digits: a fixed shuffle, the last
    DIGITS_HELD_OUT images held out for scoring. ImportError without scikit-learn."""
    images = gk.datasets.digits()
    order = np.random.default_rng(DIGITS_SPLIT_SEED).permutation(len(images))
    return images[order[:-DIGITS_HELD_OUT]], images[order[-DIGITS_HELD_OUT:]]


def training_data(dataset: str, seed: int, n: int) -> np.ndarray:
    """What a run trains on: n mixture samples drawn with the run's seed, or the
    training part of the digits split."""
    if dataset == "digits":
        return digits_split()[0]
    return gk.datasets.load(dataset, n=n, seed=seed)


def eval_sample_count(dataset: str, eval_samples: int) -> int:
    """Digits compare equal-sized sets (the 1-NN test is then a plain accuracy), so they
    use at most as many generated images as there are held-out ones."""
    return min(eval_samples, DIGITS_HELD_OUT) if dataset == "digits" else eval_samples


def make_scorer(dataset: str) -> Callable[[np.ndarray], Dict[str, float]]:
    """A function from generated samples (n, dim) to the dataset's scores."""
    if dataset == "digits":
        held_out = digits_split()[1]

        def score_digits(samples: np.ndarray) -> Dict[str, float]:
            return {"mmd2": float(gk.metrics.mmd2(samples, held_out)),
                    "nn1_accuracy": float(gk.metrics.nn1_accuracy(samples, held_out))}
        return score_digits

    mixture = gk.datasets.mixture(dataset)

    def score_mixture(samples: np.ndarray) -> Dict[str, float]:
        s = gk.metrics.mode_scores(samples, mixture)
        return {"modes_captured": float(s.modes_captured),
                "high_quality_fraction": float(s.high_quality_fraction),
                "reverse_kl": float(s.reverse_kl)}
    return score_mixture


def real_data_reference(dataset: str, eval_samples: int) -> Dict[str, float]:
    """The scores of real data, what a perfect generator would get (up to sampling
    noise): fresh mixture samples (seed 10**6, never a run's seed), or the digits'
    training images against the held-out ones."""
    n = eval_sample_count(dataset, eval_samples)
    if dataset == "digits":
        train, _ = digits_split()
        real = train[np.random.default_rng(DIGITS_SPLIT_SEED).choice(len(train), n, replace=False)]
    else:
        real = gk.datasets.load(dataset, n=n, seed=10**6)
    return make_scorer(dataset)(real)
