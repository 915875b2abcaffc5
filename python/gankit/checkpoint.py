"""GAN checkpoints: how a GAN's config() and state_dict() are laid out in a gankit file
(file_format.py: versioned, checksummed, no pickle), and how files written by older
versions read.

A checkpoint's header holds the settings and the scalar state, its arrays the rest:

    meta:   kind, gankit_version, G, D, g_loss, noise, seed, pack, ema, d_optimizer,
            g_optimizer (config()); g_optimizer_step, d_optimizer_step, noise_rng_state,
            G_dropout_state, D_dropout_state, batch_rng_state, stop_reason
    arrays: G.params, G.optimizer_state, D.params, D.optimizer_state, G.buffers,
            D.buffers, history.<column>, and with ema G.average_params, G.average_buffers

Older files lack what did not exist yet: network configs without "batch_norm", "pieces"
and "dropout", no "G.buffers"/"D.buffers" or dropout states (networks without batch
norm or dropout, for which none is needed); no "pack" and "ema" (pack 1, no average);
optimizers without schedule fields (a constant rate)."""
from __future__ import annotations

import contextlib
import os
from typing import Tuple

import numpy as np

from ._validation import MAX_WIDTH, brief
from ._version import __version__
from .file_format import CheckpointError, load as load_file, save as save_file
from .history import FIELDS as HISTORY_FIELDS
from .nn import block_options
from .optim import SCHEDULE_DEFAULTS

KIND = "gankit.GAN"
# What checking a parsed header can raise on content of the wrong type or shape
# (RecursionError: absurdly nested JSON values); each becomes a CheckpointError.
_UNUSABLE = (ValueError, TypeError, KeyError, IndexError, OverflowError, RecursionError)
# The settings a checkpoint stores (GAN.config()'s keys), and what an older file that
# lacks one of them means by its absence.
SETTINGS = ("G", "D", "g_loss", "noise", "seed", "pack", "ema", "d_optimizer", "g_optimizer")
_ABSENT = {"pack": 1, "ema": None}
# Networks' state keys kept in the header (as strings where they are 64-bit words).
_NETS = (("G", "g_optimizer_step"), ("D", "d_optimizer_step"))


# -- write --------------------------------------------------------------------------
def write(path, config: dict, state: dict) -> None:
    """Write a GAN's config() and state_dict() (with history) to `path`, atomically."""
    meta = {"kind": KIND, "gankit_version": __version__, **{key: config[key] for key in SETTINGS}}
    meta["d_optimizer_step"] = int(state["D.optimizer_step"])
    meta["g_optimizer_step"] = int(state["G.optimizer_step"])
    meta["noise_rng_state"] = [str(w) for w in state["noise_rng_state"]]
    for name, _ in _NETS:
        meta[f"{name}_dropout_state"] = [str(w) for w in state[f"{name}.dropout_state"]]
    meta["batch_rng_state"] = _compact_pcg64(state["batch_rng_state"])
    meta["stop_reason"] = state["history.stop_reason"]
    names = ["G.params", "G.optimizer_state", "D.params", "D.optimizer_state", "G.buffers", "D.buffers",
             *(f"history.{column}" for column in HISTORY_FIELDS)]
    if "G.average_params" in state:
        names += ["G.average_params", "G.average_buffers"]
    save_file(path, meta, {name: np.asarray(state[name]) for name in names})


def _compact_pcg64(state):
    """NumPy's PCG64 state dict as the header stores it (128-bit words as strings)."""
    if state is None:
        return None
    return {"state": str(state["state"]["state"]), "inc": str(state["state"]["inc"]),
            "has_uint32": int(state["has_uint32"]), "uinteger": int(state["uinteger"])}


# -- read ---------------------------------------------------------------------------
def read(path) -> Tuple[dict, dict]:
    """(config, state) from a checkpoint, for GAN.from_config and GAN.load_state_dict.
    The structure is checked here (kind, settings, array sizes against the architecture,
    before anything is built, so a crafted file cannot make us allocate more than the file
    holds); the values are checked by load_state_dict. CheckpointError if unusable."""
    meta, arrays = load_file(path)
    if not isinstance(meta, dict) or meta.get("kind") != KIND:
        raise CheckpointError(f"{os.fspath(path)}: a gankit file, but not a GAN checkpoint "
                              f"(kind {brief(meta.get('kind')) if isinstance(meta, dict) else None})")
    with usable(path):
        config = {key: _with_defaults(key, meta[key] if key in meta else _ABSENT[key]) for key in SETTINGS}
        _check_sizes(config, arrays)
        return config, _state(config, meta, arrays)


@contextlib.contextmanager
def usable(path):
    """Turn what checking a checkpoint's content raises into a CheckpointError naming it."""
    try:
        yield
    except CheckpointError:
        raise
    except _UNUSABLE as exc:
        raise CheckpointError(f"{os.fspath(path)}: not a usable gankit GAN checkpoint: {exc}") from exc


def _state(config: dict, meta: dict, arrays: dict) -> dict:
    """The state dict a checkpoint's header and arrays describe."""
    state = {}
    for name, step_key in _NETS:
        buffers = arrays.get(f"{name}.buffers")
        state.update({
            f"{name}.params": arrays[f"{name}.params"],
            f"{name}.optimizer_state": _float32(arrays[f"{name}.optimizer_state"], f"{name}.optimizer_state"),
            f"{name}.optimizer_step": _step(meta[step_key], step_key),
            f"{name}.buffers": np.zeros(0, np.float32) if buffers is None else buffers,
            f"{name}.dropout_state": _dropout_state(meta, name, config[name]),
        })
    if config["ema"] is not None:
        for key in ("G.average_params", "G.average_buffers"):
            if key not in arrays:
                raise ValueError(f"{key}: missing, but the GAN averages its generator (ema)")
            state[key] = _float32(arrays[key], key)
    words = meta["noise_rng_state"]
    if not (isinstance(words, list) and all(isinstance(w, str) and w.isdigit() for w in words)):
        raise ValueError(f"noise_rng_state: expected four 64-bit words not all zero, got {brief(words)}")
    state["noise_rng_state"] = tuple(int(w) for w in words)
    state["batch_rng_state"] = _pcg64_state(meta["batch_rng_state"])
    columns = {f"history.{c}": arrays[f"history.{c}"] for c in HISTORY_FIELDS}
    state["iteration"] = len(columns["history.d_loss"])
    state.update(columns)
    state["history.stop_reason"] = meta["stop_reason"]
    return state


def _float32(array: np.ndarray, name: str) -> np.ndarray:
    if array.dtype != np.float32 or array.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D float32 array, got {array.dtype} {array.shape}")
    return array


def _step(step, name: str) -> int:
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        raise ValueError(f"{name}: expected an integer >= 0, got {brief(step)}")
    return step


def _dropout_state(meta: dict, name: str, config: dict):
    """The stored (seed, counter) of a network's dropout masks. A file from before dropout
    has none, which only a network without dropout may lack: its masks are never drawn,
    so (0, 0) stands in."""
    words = meta.get(f"{name}_dropout_state")
    if words is None:
        if config.get("dropout", 0.0) > 0:
            raise ValueError(f"{name}_dropout_state: missing, but {name} uses dropout")
        return (0, 0)
    state = [int(w) for w in words] if isinstance(words, list) and all(
        isinstance(w, str) and w.isdigit() for w in words) else []
    if len(state) != 2 or not all(0 <= w < 2**64 for w in state):
        raise ValueError(f"{name}_dropout_state: expected two 64-bit words (seed, counter), got {brief(words)}")
    return tuple(state)


def _pcg64_state(d):
    """NumPy's PCG64 state dict from the header's compact form (None: not drawn yet)."""
    if d is None:
        return None
    if not isinstance(d, dict):
        raise ValueError(f"batch_rng_state: expected a dict, got {type(d).__name__}")
    return {"bit_generator": "PCG64", "state": {"state": int(d["state"]), "inc": int(d["inc"])},
            "has_uint32": int(d["has_uint32"]), "uinteger": int(d["uinteger"])}


def _with_defaults(key: str, stored):
    """A stored setting with the keys that older files lack filled in with their
    defaults: a network config's batch norm, maxout, dropout and precision; an optimizer's
    schedule."""
    if not isinstance(stored, dict):
        return stored
    if key in ("G", "D"):
        return {"batch_norm": False, "pieces": None, "dropout": 0.0, "precision": "fp32", **stored}
    if key in ("d_optimizer", "g_optimizer"):
        return {**SCHEDULE_DEFAULTS, **stored}
    return stored


# -- sizes, before anything is built --------------------------------------------------
def _layer_sizes(config: dict):
    """Per layer (fan_in, dense width, batch norm?) for a config, after checking the block
    options as MLP() would (ValueError/TypeError otherwise)."""
    sizes = config["sizes"]
    if not isinstance(sizes, list) or not all(isinstance(s, int) and not isinstance(s, bool)
                                              and 1 <= s <= MAX_WIDTH for s in sizes) or len(sizes) < 2:
        raise ValueError(f"sizes: expected a list of at least two integers in [1, {MAX_WIDTH}], got {brief(sizes)}")
    options = block_options(sizes, config.get("activation"), config.get("batch_norm", False),
                            config.get("pieces"), config.get("dropout", 0.0))
    pieces = options["pieces"] or 1
    last = len(sizes) - 2
    return [(fan_in, units * (1 if l == last else pieces), options["batch_norm"] and l != last)
            for l, (fan_in, units) in enumerate(zip(sizes[:-1], sizes[1:]))]


def _check_sizes(config: dict, arrays: dict) -> None:
    """Compare each network's architecture with its stored arrays: parameters (per layer
    W and b, and gamma and beta for batch-norm layers, the layout of MLP.params) and
    running statistics (mean and variance per batch-norm feature)."""
    for name in ("G", "D"):
        net = config[name]
        if not isinstance(net, dict):
            raise ValueError(f"{name}: expected a network config, got {type(net).__name__}")
        try:
            layers = _layer_sizes(net)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{name} config: {exc}") from exc
        expected = sum(fan_in * width + width + (2 * width if bn else 0) for fan_in, width, bn in layers)
        buffers = sum(2 * width for _, width, bn in layers if bn)
        params = arrays[f"{name}.params"]
        if params.dtype != np.float32 or params.shape != (expected,):
            raise ValueError(f"{name}.params: expected float32 of shape ({expected},) "
                             f"for sizes {net['sizes']}, got {params.dtype} {params.shape}")
        stored = arrays.get(f"{name}.buffers")
        if buffers and stored is None:
            raise ValueError(f"{name}.buffers: missing, but {name} has batch normalisation "
                             f"({buffers} running statistics)")
        if stored is not None and (stored.dtype != np.float32 or stored.shape != (buffers,)):
            raise ValueError(f"{name}.buffers: expected float32 of shape ({buffers},), "
                             f"got {stored.dtype} {stored.shape}")


# -- resume ---------------------------------------------------------------------------
def require_same_settings(path, stored: dict, mine: dict) -> None:
    """ValueError naming the first setting (all but the seed) in which a checkpoint's GAN
    differs from this one: resuming it would continue a different run."""
    for key in ("pack", "ema", "G", "D", "g_loss", "noise", "d_optimizer", "g_optimizer"):
        try:
            differs = _normalise(stored[key]) != _normalise(mine[key])
        except RecursionError as exc:
            raise CheckpointError(f"{os.fspath(path)}: not a usable gankit GAN checkpoint: {key} "
                                  f"is nested too deeply") from exc
        if differs:
            what, theirs, ours = _first_difference(key, stored[key], mine[key])
            raise ValueError(f"resume: {os.fspath(path)} holds a GAN whose {what} is {brief(theirs)}, "
                             f"but this GAN's is {brief(ours)}")


def _first_difference(name: str, stored, value):
    """Where two settings differ: (a dotted name, its stored value, this GAN's value),
    naming the first differing key of a config rather than the whole config."""
    if isinstance(stored, dict) and isinstance(value, dict):
        for key in sorted(set(stored) | set(value), key=str):
            if _normalise(stored.get(key)) != _normalise(value.get(key)):
                return f"{name}.{key}", stored.get(key), value.get(key)
    return name, stored, value


def _normalise(value):
    """Compare configs as JSON would store them (tuples as lists, floats as float32)."""
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalise(v) for v in value]
    if isinstance(value, float):
        return float(np.float32(value))
    return value
