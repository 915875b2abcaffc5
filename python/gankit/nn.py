"""The multilayer perceptron: a thin handle on the C++ network (cpp/src/mlp.cpp).

Parameters live in one C++ buffer; `params`, `grads` and `parameters()` are zero-copy
NumPy views of it, `get_weights()` returns copies."""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np

from . import _core
from . import _validation as check

ACTIVATIONS = ("identity", "relu", "leaky_relu", "tanh", "sigmoid")


class MLP:
    """Dense layers `sizes[0] -> sizes[1] -> ... -> sizes[-1]`.

    activation: the hidden layers' activation; output: the last layer's (None for
    none, e.g. a discriminator returning logits); slope: leaky ReLU's negative slope.
    seed: initialise the weights (Glorot uniform, zero biases) from this seed. Without
    one, a GAN built on this network initialises it from the GAN's seed.
    """

    def __init__(self, sizes: Sequence[int], activation: str = "leaky_relu",
                 output: Optional[str] = None, slope: float = 0.2, seed: Optional[int] = None):
        # A sequence (list, tuple, range, 1-D array): a set or dict has no order to trust.
        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, (Sequence, np.ndarray)):
            raise TypeError(f"sizes: expected a sequence of layer sizes like [2, 128, 1], got {sizes!r}")
        if len(sizes) < 2:
            raise ValueError(f"sizes: expected at least two sizes [input, ..., output], got {list(sizes)!r}")
        sizes = [check.integer(s, f"sizes[{i}]", low=1, high=2**24) for i, s in enumerate(sizes)]
        activation = check.choice(activation, "activation", ACTIVATIONS)
        output = "identity" if output is None else check.choice(output, "output", ACTIVATIONS)
        slope = check.real_number(slope, "slope", low=0, high=1, high_inclusive=False)
        self._net = _core.Mlp(sizes, activation, output, slope)
        self.seed = None if seed is None else check.seed(seed)
        # True once the weights come from the user (a seed or set_weights), so a GAN
        # leaves them alone instead of initialising from its own seed.
        self._weights_given = seed is not None
        self._net.init_glorot(0 if seed is None else self.seed)

    # -- description -------------------------------------------------------------
    @property
    def sizes(self) -> List[int]:
        return list(self._net.sizes)

    @property
    def activation(self) -> str:
        return self._net.hidden_activation

    @property
    def output(self) -> Optional[str]:
        out = self._net.output_activation
        return None if out == "identity" else out

    @property
    def slope(self) -> float:
        return float(self._net.slope)

    @property
    def num_params(self) -> int:
        return int(self._net.num_params)

    def config(self) -> dict:
        """The constructor arguments (checkpoints rebuild the network from them)."""
        return {"sizes": self.sizes, "activation": self.activation, "output": self.output,
                "slope": self.slope}

    def __repr__(self) -> str:
        return (f"MLP({self.sizes}, activation={self.activation!r}, output={self.output!r}, "
                f"slope={self.slope})")

    # -- parameters ----------------------------------------------------------------
    @property
    def params(self) -> np.ndarray:
        """All parameters, one flat float32 view of C++ memory (W1, b1, W2, b2, ...)."""
        return self._net.params

    @property
    def grads(self) -> np.ndarray:
        """The gradients from the last backward pass, same layout as `params`."""
        return self._net.grads

    def parameters(self) -> List[Tuple[np.ndarray, np.ndarray]]:
        """[(W, b), ...] as writable views; W has shape (fan_in, fan_out)."""
        return self._net.param_views()

    def get_weights(self) -> List[Tuple[np.ndarray, np.ndarray]]:
        """[(W, b), ...] as copies; W has shape (fan_in, fan_out)."""
        return [(w.copy(), b.copy()) for w, b in self._net.param_views()]

    def set_weights(self, weights) -> None:
        """Set every layer from a list like get_weights() returns. Checks every shape and
        value before writing anything, so a bad list leaves the network unchanged."""
        views = self._net.param_views()
        if not isinstance(weights, (list, tuple)) or len(weights) != len(views):
            got = f"{len(weights)} entries" if isinstance(weights, (list, tuple)) else type(weights).__name__
            raise ValueError(f"weights: expected a list of {len(views)} (W, b) pairs, got {got}")
        checked = []
        for i, (pair, (w_view, b_view)) in enumerate(zip(weights, views)):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise ValueError(f"weights[{i}]: expected a (W, b) pair, got {type(pair).__name__}")
            checked.append((_as_float_array(pair[0], f"weights[{i}][0] (W)", w_view.shape),
                            _as_float_array(pair[1], f"weights[{i}][1] (b)", b_view.shape)))
        with self._net.exclusive():  # refused while a step runs in another thread
            for (w, b), (w_view, b_view) in zip(checked, views):
                w_view[...] = w
                b_view[...] = b
        self._weights_given = True

    def init(self, seed: int) -> None:
        """Re-initialise the weights (Glorot uniform, zero biases) from `seed`."""
        self.seed = check.seed(seed)
        self._net.init_glorot(self.seed)
        self._weights_given = True

    # -- evaluation ----------------------------------------------------------------
    def forward(self, x) -> np.ndarray:
        """The network's output for a batch x of shape (n, sizes[0]), float32 (n, sizes[-1])."""
        return self._net.forward(x)

    __call__ = forward


def _as_float_array(value, name: str, shape) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError):  # ragged nested lists
        raise ValueError(f"{name}: expected an array of shape {tuple(shape)}, got a "
                         f"{type(value).__name__} NumPy cannot read as one") from None
    if arr.dtype.kind != "f":
        raise TypeError(f"{name}: expected a float array, got dtype {arr.dtype}")
    if arr.shape != tuple(shape):
        raise ValueError(f"{name}: expected shape {tuple(shape)}, got {arr.shape}")
    with np.errstate(over="ignore"):  # beyond float32's range becomes Inf, refused below
        arr = arr.astype(np.float32, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: expected finite float32 values, got NaN or Inf "
                         "(float64 values beyond float32's range become Inf)")
    return arr
