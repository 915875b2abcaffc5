"""The multilayer perceptron: a thin handle on the C++ network (cpp/src/mlp.cpp).

Parameters live in one C++ buffer; `params`, `grads` and `parameters()` are zero-copy
NumPy views of it, `get_weights()` returns copies."""
from __future__ import annotations

import weakref
from typing import List, Optional, Sequence, Tuple

import numpy as np

from . import _core
from . import _validation as check
from .optim import core_arguments

ACTIVATIONS = ("identity", "relu", "leaky_relu", "tanh", "sigmoid")
HIDDEN_ACTIVATIONS = ACTIVATIONS + ("maxout",)
DEFAULT_PIECES = 5  # maxout pieces when not given (the PacGAN/VEEGAN discriminators' 5)
MAX_PIECES = 64
PRECISIONS = ("fp32", "bf16")  # of the dense layers' products (gankit/gemm.h)


def block_options(sizes, activation, batch_norm=False, pieces=None, dropout=0.0) -> dict:
    """Check the hidden-block options of an MLP; returns {"batch_norm", "pieces", "dropout"}
    normalised (pieces: an int for maxout, else None). Raises ValueError/TypeError naming
    the argument. Shared with checkpoint loading, which must size a network before
    building it."""
    if not isinstance(batch_norm, (bool, np.bool_)):
        raise TypeError(f"batch_norm: expected True or False, got {batch_norm!r} ({type(batch_norm).__name__})")
    batch_norm = bool(batch_norm)
    if activation == "maxout":
        pieces = DEFAULT_PIECES if pieces is None else check.integer(pieces, "pieces", low=2, high=MAX_PIECES)
    elif pieces is not None:
        raise ValueError(f"pieces: only used with activation='maxout', got pieces={pieces!r} "
                         f"with activation={activation!r}")
    dropout = check.real_number(dropout, "dropout", low=0, high=1, high_inclusive=False)
    if len(sizes) < 3:
        for name, used in (("batch_norm", batch_norm), ("activation='maxout'", pieces is not None),
                           ("dropout", dropout > 0)):
            if used:
                raise ValueError(f"{name}: applies to hidden layers, but sizes {list(sizes)} has none")
    return {"batch_norm": batch_norm, "pieces": pieces, "dropout": dropout}


def check_precision_runs_here(precision: str, who: str = "precision 'bf16'") -> None:
    """ValueError "WHO: this CPU has no bf16 kernel (...)" for "bf16" on a CPU without one,
    in the core's words (gankit/gemm.h, require_bf16_kernel)."""
    if precision == "bf16":
        _core.require_bf16_kernel(who)


def bf16_refusal(who: str) -> str | None:
    """check_precision_runs_here's message for "bf16", or None where this CPU runs it: for
    argument parsers, which report it with parser.error."""
    try:
        _core.require_bf16_kernel(who)
    except ValueError as refusal:
        return str(refusal)
    return None


class MLP:
    """Blocks `sizes[0] -> sizes[1] -> ... -> sizes[-1]`.

    Each hidden block is a dense layer z = x W + b, then batch normalisation if
    `batch_norm`, then the activation (or maxout), then dropout if `dropout` > 0; the last
    block is a dense layer and the `output` activation only.

    activation: the hidden blocks' activation, one of "identity", "relu", "leaky_relu",
    "tanh", "sigmoid", or "maxout": then a hidden block of n units has a dense layer of
    n * pieces units and outputs, per unit, the max over its pieces (linear maxout).
    Piece-major layout: column p * n + j of W (shape (fan_in, n * pieces)) and of b is
    piece p of unit j; ties go to the lowest piece.
    output: the last layer's activation (None for none, e.g. a discriminator returning
    logits); slope: leaky ReLU's negative slope.
    batch_norm: per-feature batch normalisation before the activation with learned gamma
    (initially 1) and beta (0), eps 1e-5 and running statistics with momentum 0.1 --
    PyTorch's BatchNorm1d. Training mode normalises with the batch's statistics (biased
    variance) and updates the running mean and unbiased variance; inference mode uses the
    running statistics. A training batch needs at least 2 rows.
    pieces: maxout pieces, an integer in [2, 64] (default 5); only with activation="maxout".
    dropout: inverted dropout rate p in [0, 1), in training mode only (kept values are
    scaled by 1/(1-p)). The masks are a function of the network's dropout seed and a
    counter of training forwards, so runs are reproducible at any thread count.
    seed: initialise the weights (Glorot uniform, zero biases) and seed the dropout masks
    from this seed. Without one, a GAN built on this network does both from the GAN's seed.
    precision: "fp32" (default) or "bf16": the arithmetic of the dense layers' products.
    bf16 rounds their operands (inputs, weights, gradients) to bfloat16 and sums in
    float32, about twice as fast where the CPU multiplies bf16 pairs (AVX512-BF16);
    parameters, gradients, optimizer state, batch norm, activations and the losses stay
    float32. A CPU without AVX512-BF16 refuses it with a ValueError (no slow emulation).
    """

    def __init__(self, sizes: Sequence[int], activation: str = "leaky_relu",
                 output: Optional[str] = None, slope: float = 0.2, seed: Optional[int] = None,
                 batch_norm: bool = False, pieces: Optional[int] = None, dropout: float = 0.0,
                 precision: str = "fp32"):
        # A sequence (list, tuple, range, 1-D array): a set or dict has no order to trust.
        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, (Sequence, np.ndarray)):
            raise TypeError(f"sizes: expected a sequence of layer sizes like [2, 128, 1], got {sizes!r}")
        if len(sizes) < 2:
            raise ValueError(f"sizes: expected at least two sizes [input, ..., output], got {list(sizes)!r}")
        sizes = [check.integer(s, f"sizes[{i}]", low=1, high=check.MAX_WIDTH) for i, s in enumerate(sizes)]
        activation = check.choice(activation, "activation", HIDDEN_ACTIVATIONS)
        output = "identity" if output is None else check.choice(output, "output", ACTIVATIONS)
        slope = check.real_number(slope, "slope", low=0, high=1, high_inclusive=False)
        options = block_options(sizes, activation, batch_norm, pieces, dropout)
        precision = check.choice(precision, "precision", PRECISIONS)
        check_precision_runs_here(precision)
        hidden = "identity" if activation == "maxout" else activation
        self._net = _core.Mlp(sizes, hidden, output, slope, options["batch_norm"],
                              options["pieces"] or 1, options["dropout"])
        self._net.precision = precision
        self._maxout = activation == "maxout"
        self._dropout = options["dropout"]  # as given (the core keeps it as float32)
        self.seed = None if seed is None else check.seed(seed)
        # True once the weights come from the user (a seed or set_weights), so a GAN
        # leaves them alone instead of initialising from its own seed; the same for the
        # dropout seed (given with `seed` or by init()).
        self._weights_given = seed is not None
        self._dropout_seed_given = seed is not None
        self._net.init_glorot(0 if seed is None else self.seed)
        self._net.dropout_state = (0 if seed is None else self.seed, 0)
        self._gan_owner: Optional[weakref.ref] = None  # the GAN this network belongs to

    # -- description -------------------------------------------------------------
    @property
    def sizes(self) -> List[int]:
        return list(self._net.sizes)

    @property
    def activation(self) -> str:
        return "maxout" if self._maxout else self._net.hidden_activation

    @property
    def output(self) -> Optional[str]:
        out = self._net.output_activation
        return None if out == "identity" else out

    @property
    def slope(self) -> float:
        return float(self._net.slope)

    @property
    def batch_norm(self) -> bool:
        return bool(self._net.batch_norm)

    @property
    def pieces(self) -> Optional[int]:
        """Maxout pieces, or None when the activation is not maxout."""
        return int(self._net.pieces) if self._maxout else None

    @property
    def dropout(self) -> float:
        return self._dropout

    @property
    def precision(self) -> str:
        """"fp32" or "bf16": the arithmetic of the dense layers' products."""
        return self._net.precision

    @property
    def num_params(self) -> int:
        return int(self._net.num_params)

    def config(self) -> dict:
        """The constructor arguments (checkpoints rebuild the network from them)."""
        return {"sizes": self.sizes, "activation": self.activation, "output": self.output,
                "slope": self.slope, "batch_norm": self.batch_norm, "pieces": self.pieces,
                "dropout": self.dropout, "precision": self.precision}

    def __repr__(self) -> str:
        extra = "".join([", batch_norm=True" if self.batch_norm else "",
                         f", pieces={self.pieces}" if self._maxout else "",
                         f", dropout={self.dropout}" if self.dropout > 0 else "",
                         f", precision={self.precision!r}" if self.precision != "fp32" else ""])
        return (f"MLP({self.sizes}, activation={self.activation!r}, output={self.output!r}, "
                f"slope={self.slope}{extra})")

    # -- parameters ----------------------------------------------------------------
    @property
    def params(self) -> np.ndarray:
        """All parameters, one flat float32 view of C++ memory (W1, b1, [gamma1, beta1],
        W2, b2, ...)."""
        return self._net.params

    @property
    def grads(self) -> np.ndarray:
        """The gradients from the last backward pass, same layout as `params`."""
        return self._net.grads

    def parameters(self) -> List[Tuple[np.ndarray, ...]]:
        """Per layer (W, b), or (W, b, gamma, beta) for batch-norm layers, as writable
        views; W has shape (fan_in, fan_out) (fan_out * pieces for maxout layers)."""
        return self._net.param_views()

    def get_weights(self) -> List[Tuple[np.ndarray, ...]]:
        """Like parameters(), as copies."""
        return [tuple(a.copy() for a in layer) for layer in self._net.param_views()]

    def set_weights(self, weights) -> None:
        """Set every layer from a list like get_weights() returns. Checks every shape and
        value before writing anything, so a bad list leaves the network unchanged."""
        _assign(self._net, self._net.param_views(), weights, "weights", ("W", "b", "gamma", "beta"))
        self._weights_given = True

    def buffers(self) -> List[Tuple[np.ndarray, np.ndarray]]:
        """[(running_mean, running_var), ...] per batch-norm layer, as writable views (not
        parameters: the optimizer never changes them). Empty without batch norm."""
        return self._net.buffer_views()

    def get_buffers(self) -> List[Tuple[np.ndarray, np.ndarray]]:
        """Like buffers(), as copies."""
        return [(m.copy(), v.copy()) for m, v in self._net.buffer_views()]

    def set_buffers(self, buffers) -> None:
        """Set the running statistics from a list like get_buffers() returns (variances
        must be >= 0). Checked in full before anything is written."""
        _assign(self._net, self._net.buffer_views(), buffers, "buffers", ("running_mean", "running_var"),
                nonnegative=("running_var",))

    # -- state -------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything of this network a training run changes, as plain data: "params",
        "optimizer_state" (flat) and "buffers" (batch-norm running statistics, flat) as
        live float32 views of the C++ buffers (copy them to keep a snapshot, as with
        PyTorch's state_dict), "optimizer_step" (updates done, which the learning-rate
        schedule and Adam's bias correction read) and "dropout_state" (seed, counter) of
        the dropout masks."""
        net = self._net
        return {"params": net.params, "optimizer_state": net.optimizer_state.reshape(-1),
                "optimizer_step": net.optimizer_step, "buffers": net.buffers,
                "dropout_state": tuple(net.dropout_state)}

    def load_state_dict(self, state, prefix: str = "") -> None:
        """Set the state from a dict like state_dict() returns (arrays are copied in).
        Every entry is checked before anything is written, so a bad dict leaves the
        network unchanged; `prefix` is put before the key names in error messages (a GAN
        passes "G." or "D.")."""
        checked = checked_state(self, state, prefix)
        with self._net.exclusive():
            self._net.params[...] = checked["params"]
            self._net.optimizer_state.reshape(-1)[...] = checked["optimizer_state"]
            if checked["buffers"].size:
                self._net.buffers[...] = checked["buffers"]
        self._net.optimizer_step = checked["optimizer_step"]
        self._net.dropout_state = checked["dropout_state"]
        self._weights_given = self._dropout_seed_given = True

    def _join(self, gan, name: str, weight_seed: int, dropout_seed: int, optimizer):
        """Make this network `gan`'s G or D (`name`) and return its core handle: called by
        GAN's constructor only. The weights and dropout masks are seeded from the GAN's
        streams unless the user gave them (a seed, set_weights, init or load_state_dict),
        and `optimizer` is configured in the core."""
        owner = None if self._gan_owner is None else self._gan_owner()
        if owner is not None:
            raise ValueError(f"{name}: expected a network not used by another GAN, got one that "
                             "already belongs to a GAN (building this GAN would re-initialise it and "
                             "reset its optimizer under the other); build a new MLP for each GAN")
        if not self._weights_given:
            self._net.init_glorot(int(weight_seed))
        if not self._dropout_seed_given:
            self._net.dropout_state = (int(dropout_seed), 0)
        kind, lr, options = core_arguments(optimizer)
        self._net.configure_optimizer(kind, lr, **options)
        self._gan_owner = weakref.ref(gan)
        return self._net

    def init(self, seed: int) -> None:
        """Re-initialise from `seed`: Glorot-uniform weights, zero biases, batch-norm gamma 1,
        beta 0 and running statistics 0 and 1; the dropout masks restart from `seed`."""
        self.seed = check.seed(seed)
        self._net.init_glorot(self.seed)
        self._net.dropout_state = (self.seed, 0)
        self._weights_given = True
        self._dropout_seed_given = True

    # -- evaluation ----------------------------------------------------------------
    def forward(self, x, training: bool = False) -> np.ndarray:
        """The network's output for a batch x of shape (n, sizes[0]), float32 (n, sizes[-1]).

        training=False (inference): batch norm uses its running statistics and dropout is
        off, so the result depends on x only. training=True: batch norm uses the batch's
        statistics and updates the running ones, dropout is on (and its counter advances),
        as in a training step; with batch norm, x needs at least 2 rows."""
        if not isinstance(training, (bool, np.bool_)):
            raise TypeError(f"training: expected True or False, got {training!r} ({type(training).__name__})")
        return self._net.forward(x, bool(training))

    __call__ = forward


def _assign(net, views, values, name: str, parts, nonnegative=()) -> None:
    """Write `values` (a list shaped like `views`: per entry a tuple of arrays) into the
    views of `net` after checking every shape and value; the writes hold the network's
    busy flag, so they are refused while a step runs on it in another thread."""
    if not isinstance(values, (list, tuple)) or len(values) != len(views):
        got = f"{len(values)} entries" if isinstance(values, (list, tuple)) else type(values).__name__
        raise ValueError(f"{name}: expected a list of {len(views)} entries, got {got}")
    checked = []
    for i, (entry, targets) in enumerate(zip(values, views)):
        labels = "(" + ", ".join(parts[:len(targets)]) + ")"
        if not isinstance(entry, (list, tuple)) or len(entry) != len(targets):
            got = f"{len(entry)} arrays" if isinstance(entry, (list, tuple)) else type(entry).__name__
            raise ValueError(f"{name}[{i}]: expected a tuple {labels}, got {got}")
        arrays = []
        for k, (value, target) in enumerate(zip(entry, targets)):
            label = f"{name}[{i}][{k}] ({parts[k]})"
            arr = check.float32_array(value, label, target.shape)
            if parts[k] in nonnegative and np.any(arr < 0):
                raise ValueError(f"{label}: expected values >= 0, got {float(arr.min())}")
            arrays.append(arr)
        checked.append(arrays)
    with net.exclusive():
        for arrays, targets in zip(checked, views):
            for arr, target in zip(arrays, targets):
                target[...] = arr


_STATE_KEYS = ("params", "optimizer_state", "optimizer_step", "buffers", "dropout_state")


def checked_state(mlp: MLP, state, prefix: str = "") -> dict:
    """The entries of a state dict for `mlp`, checked and converted (float32 arrays,
    ints) without writing anything; ValueError/TypeError naming prefix + key otherwise.
    GAN.load_state_dict checks both networks with it before writing either."""
    net = mlp._net
    if not isinstance(state, dict):
        raise TypeError(f"{prefix or 'state'}: expected a dict like MLP.state_dict() returns, "
                        f"got {type(state).__name__}")
    missing = [k for k in _STATE_KEYS if k not in state]
    unknown = sorted(str(k) for k in state if k not in _STATE_KEYS)
    if missing or unknown:
        raise ValueError(f"{prefix or 'state'}: expected the keys {', '.join(_STATE_KEYS)}, got "
                         f"{'no ' + ', '.join(missing) if missing else ''}"
                         f"{' and ' if missing and unknown else ''}"
                         f"{'unknown ' + ', '.join(unknown) if unknown else ''}")
    params = check.float32_array(state["params"], f"{prefix}params", net.params.shape)
    optimizer_state = check.float32_array(state["optimizer_state"], f"{prefix}optimizer_state",
                                      (net.optimizer_state.size,))
    buffers = check.float32_array(state["buffers"], f"{prefix}buffers", net.buffers.shape)
    offset = 0
    for mean, var in net.buffer_views():
        if np.any(buffers[offset + mean.size:offset + mean.size + var.size] < 0):
            raise ValueError(f"{prefix}buffers: expected finite running statistics with variances >= 0, "
                             "got a negative variance")
        offset += mean.size + var.size
    step = check.integer(state["optimizer_step"], f"{prefix}optimizer_step", low=0, high=2**63 - 1)
    words = state["dropout_state"]
    if not isinstance(words, (tuple, list)) or len(words) != 2:
        raise ValueError(f"{prefix}dropout_state: expected (seed, counter), two 64-bit words, "
                         f"got {check.brief(words)}")
    dropout_state = tuple(check.integer(w, f"{prefix}dropout_state[{i}]", low=0, high=2**64 - 1)
                          for i, w in enumerate(words))
    return {"params": params, "optimizer_state": optimizer_state, "buffers": buffers,
            "optimizer_step": step, "dropout_state": dropout_state}
