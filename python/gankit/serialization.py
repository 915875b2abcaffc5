"""GAN.save / GAN.load / resume: everything needed to continue a run exactly
(architecture, weights, optimizer state, batch-norm running statistics, both RNG states,
the dropout (seed, counter) of each network, the packing and the generator average,
iteration, history), in the checkpoint container of checkpoint.py (versioned,
checksummed, no pickle).

Files written before batch norm, maxout and dropout existed load unchanged: their network
configs lack "batch_norm", "pieces" and "dropout" (the defaults), and they have no
"G.buffers"/"D.buffers" arrays or dropout states, which such networks do not need. Files
from before packing, averaging and learning-rate schedules have no "pack" and "ema" keys
(pack 1, no average) and optimizers without schedule fields (a constant rate)."""
from __future__ import annotations

import os
from typing import Tuple

import numpy as np

from . import __version__
from ._validation import brief
from .checkpoint import CheckpointError, load as load_container, save as save_container
from .history import History
from .nn import MLP, block_options
from .optim import SCHEDULE_DEFAULTS, optimizer_from_dict, optimizer_to_dict

KIND = "gankit.GAN"
# What checking a parsed header can raise on content of the wrong type or shape
# (RecursionError: absurdly nested JSON values); each becomes a CheckpointError.
_UNUSABLE = (ValueError, TypeError, KeyError, IndexError, OverflowError, RecursionError)


def save_gan(gan, path) -> None:
    meta = {
        "kind": KIND,
        "gankit_version": __version__,
        "G": gan.G.config(),
        "D": gan.D.config(),
        "g_loss": gan.g_loss,
        "noise": gan.noise_kind,
        "seed": gan.seed,
        "pack": gan.pack,
        "ema": gan.ema,
        "d_optimizer": optimizer_to_dict(gan.d_optimizer),
        "g_optimizer": optimizer_to_dict(gan.g_optimizer),
        "d_optimizer_step": int(gan.D._net.optimizer_step),
        "g_optimizer_step": int(gan.G._net.optimizer_step),
        "noise_rng_state": [str(w) for w in gan._gan.rng_state],
        "G_dropout_state": [str(w) for w in gan.G._net.dropout_state],
        "D_dropout_state": [str(w) for w in gan.D._net.dropout_state],
        "batch_rng_state": None if gan._sampler is None else _pcg64_state(gan._sampler),
        "stop_reason": gan.history.stop_reason,
    }
    arrays = {
        "G.params": gan.G.params, "G.optimizer_state": np.asarray(gan.G._net.optimizer_state).ravel(),
        "D.params": gan.D.params, "D.optimizer_state": np.asarray(gan.D._net.optimizer_state).ravel(),
        "G.buffers": np.asarray(gan.G._net.buffers), "D.buffers": np.asarray(gan.D._net.buffers),
        **gan.history.to_arrays(),
    }
    if gan.ema is not None:
        arrays["G.average_params"] = gan.average_params
        arrays["G.average_buffers"] = np.asarray(gan._gan.average_buffers)
    save_container(path, meta, arrays)


def load_gan(path):
    """A new GAN from a file written by save_gan; CheckpointError if it cannot be used."""
    from .gan import GAN
    meta, arrays = _read(path)
    try:
        _check_sizes(meta, arrays)
        G = MLP(**meta["G"])
        D = MLP(**meta["D"])
        gan = GAN(G, D, g_loss=meta["g_loss"], noise=meta["noise"], seed=meta["seed"],
                  pack=meta.get("pack", 1), ema=meta.get("ema"),
                  d_optimizer=optimizer_from_dict(meta["d_optimizer"]),
                  g_optimizer=optimizer_from_dict(meta["g_optimizer"]))
        _apply_state(gan, meta, arrays)
    except CheckpointError:
        raise
    except _UNUSABLE as exc:
        raise CheckpointError(f"{os.fspath(path)}: not a usable gankit GAN checkpoint: {exc}") from exc
    return gan


def restore_gan(gan, path) -> None:
    """Load the state in `path` into an existing GAN of the same architecture (resume).
    ValueError if the architectures differ; CheckpointError if the file is unusable."""
    meta, arrays = _read(path)
    mine = {"pack": gan.pack, "ema": gan.ema, "G": gan.G.config(), "D": gan.D.config(),
            "g_loss": gan.g_loss, "noise": gan.noise_kind,
            "d_optimizer": optimizer_to_dict(gan.d_optimizer),
            "g_optimizer": optimizer_to_dict(gan.g_optimizer)}
    for key, value in mine.items():
        stored = _with_defaults(key, meta.get(key, _ABSENT.get(key)))
        try:
            differs = _normalise(stored) != _normalise(value)
        except RecursionError as exc:
            raise CheckpointError(f"{os.fspath(path)}: not a usable gankit GAN checkpoint: {key} "
                                  f"is nested too deeply") from exc
        if differs:
            what, stored, value = _first_difference(key, stored, value)
            raise ValueError(f"resume: {os.fspath(path)} holds a GAN whose {what} is {brief(stored)}, "
                             f"but this GAN's is {brief(value)}")
    try:
        _check_sizes(meta, arrays)
        _apply_state(gan, meta, arrays)
    except _UNUSABLE as exc:
        raise CheckpointError(f"{os.fspath(path)}: not a usable gankit GAN checkpoint: {exc}") from exc


def _read(path) -> Tuple[dict, dict]:
    meta, arrays = load_container(path)
    if not isinstance(meta, dict) or meta.get("kind") != KIND:
        raise CheckpointError(f"{os.fspath(path)}: a gankit file, but not a GAN checkpoint "
                              f"(kind {brief(meta.get('kind')) if isinstance(meta, dict) else None})")
    return meta, arrays


def _first_difference(name: str, stored, value):
    """Where two settings differ: (a dotted name, its stored value, this GAN's value),
    naming the first differing key of a config rather than the whole config."""
    if isinstance(stored, dict) and isinstance(value, dict):
        for key in sorted(set(stored) | set(value), key=str):
            if _normalise(stored.get(key)) != _normalise(value.get(key)):
                return f"{name}.{key}", stored.get(key), value.get(key)
    return name, stored, value


def _normalise(value):
    """Compare configs as JSON would store them (tuples as lists, floats as floats)."""
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalise(v) for v in value]
    if isinstance(value, float):
        return float(np.float32(value))
    return value


# What a file from before packing and averaging means by their absence.
_ABSENT = {"pack": 1, "ema": None}


def _with_defaults(key: str, stored):
    """A stored setting with the keys that older files lack filled in with their
    defaults: a network config's batch norm, maxout and dropout; an optimizer's schedule."""
    if not isinstance(stored, dict):
        return stored
    if key in ("G", "D"):
        return {"batch_norm": False, "pieces": None, "dropout": 0.0, **stored}
    if key in ("d_optimizer", "g_optimizer"):
        return {**SCHEDULE_DEFAULTS, **stored}
    return stored


def _layer_sizes(config: dict):
    """Per layer (fan_in, dense width, batch norm?) for a config, after checking the block
    options as MLP() would (ValueError/TypeError otherwise)."""
    sizes = config["sizes"]
    if not isinstance(sizes, list) or not all(isinstance(s, int) and not isinstance(s, bool)
                                              and 1 <= s <= 2**24 for s in sizes) or len(sizes) < 2:
        raise ValueError(f"sizes must be a list of integers in [1, 2**24], got {brief(sizes)}")
    options = block_options(sizes, config.get("activation"), config.get("batch_norm", False),
                            config.get("pieces"), config.get("dropout", 0.0))
    pieces = options["pieces"] or 1
    last = len(sizes) - 2
    return [(fan_in, units * (1 if l == last else pieces), options["batch_norm"] and l != last)
            for l, (fan_in, units) in enumerate(zip(sizes[:-1], sizes[1:]))]


def _num_params(config: dict) -> int:
    """Parameters of the network a config describes: per layer W and b, and gamma and beta
    for batch-norm layers (the layout of gankit.MLP.params)."""
    return sum(fan_in * width + width + (2 * width if bn else 0)
               for fan_in, width, bn in _layer_sizes(config))


def _num_buffers(config: dict) -> int:
    """Running mean and variance per batch-norm feature."""
    return sum(2 * width for _, width, bn in _layer_sizes(config) if bn)


def _check_sizes(meta: dict, arrays: dict) -> None:
    """Compare the architecture with the stored arrays before building anything, so a
    crafted file cannot make us allocate more than the file itself holds."""
    for name in ("G", "D"):
        config = meta[name]
        if not isinstance(config, dict):
            raise ValueError(f"{name}: expected a network config, got {type(config).__name__}")
        try:
            expected = _num_params(config)
            buffers = _num_buffers(config)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{name} config: {exc}") from exc
        params = arrays[f"{name}.params"]
        if params.dtype != np.float32 or params.shape != (expected,):
            raise ValueError(f"{name}.params: expected float32 of shape ({expected},) "
                             f"for sizes {config['sizes']}, got {params.dtype} {params.shape}")
        stored = arrays.get(f"{name}.buffers")
        if buffers and stored is None:
            raise ValueError(f"{name}.buffers: missing, but {name} has batch normalisation "
                             f"({buffers} running statistics)")
        if stored is not None and (stored.dtype != np.float32 or stored.shape != (buffers,)):
            raise ValueError(f"{name}.buffers: expected float32 of shape ({buffers},), "
                             f"got {stored.dtype} {stored.shape}")


def _apply_state(gan, meta: dict, arrays: dict) -> None:
    """Check every part of the stored state, then write it: a bad file changes nothing."""
    writes = []
    for name, net, step_key in (("G", gan.G, "g_optimizer_step"), ("D", gan.D, "d_optimizer_step")):
        params = arrays[f"{name}.params"]
        if not np.all(np.isfinite(params)):
            raise ValueError(f"{name}.params contains NaN or Inf")
        state = arrays[f"{name}.optimizer_state"]
        target = net._net.optimizer_state
        if state.dtype != np.float32 or state.size != target.size:
            raise ValueError(f"{name}.optimizer_state: expected {target.size} float32 values, "
                             f"got {state.dtype} {state.shape}")
        step = meta[step_key]
        if not isinstance(step, int) or isinstance(step, bool) or step < 0:
            raise ValueError(f"{step_key}: expected an integer >= 0, got {brief(step)}")
        buffers = arrays.get(f"{name}.buffers")
        if buffers is not None and not (np.all(np.isfinite(buffers)) and
                                        _running_variances_ok(net, buffers)):
            raise ValueError(f"{name}.buffers: expected finite running statistics with variances >= 0")
        dropout_state = _dropout_state(meta, name, net)
        writes.append((net, params, state, step, buffers, dropout_state))
    average = _average_state(gan, arrays)
    words = meta["noise_rng_state"]
    rng_state = [int(w) for w in words] if isinstance(words, list) else []
    if len(rng_state) != 4 or not all(0 <= w < 2**64 for w in rng_state) or not any(rng_state):
        raise ValueError(f"noise_rng_state: expected four 64-bit words not all zero, got {brief(words)}")
    sampler = None if meta["batch_rng_state"] is None else _pcg64_from_state(meta["batch_rng_state"])
    history = History.from_arrays(arrays, meta["stop_reason"])

    for net, params, state, step, buffers, dropout_state in writes:
        net.params[...] = params
        net._net.optimizer_state.reshape(-1)[...] = state
        net._net.optimizer_step = step
        if buffers is not None and buffers.size:
            net._net.buffers[...] = buffers
        if dropout_state is not None:
            net._net.dropout_state = dropout_state
            net._dropout_seed_given = True
        net._weights_given = True
    if average is not None:
        gan.average_params[...] = average[0]
        if average[1].size:
            gan._gan.average_buffers[...] = average[1]
    gan._gan.rng_state = rng_state
    gan._sampler = sampler
    gan.history = history


def _average_state(gan, arrays: dict):
    """The stored generator average (params, buffers), checked against this GAN's; None
    when averaging is off. A GAN with averaging needs both arrays."""
    if gan.ema is None:
        return None
    params, buffers = arrays.get("G.average_params"), arrays.get("G.average_buffers")
    if params is None or buffers is None:
        raise ValueError("G.average_params: missing, but the GAN averages its generator (ema)")
    for name, stored, target in (("G.average_params", params, gan.average_params),
                                 ("G.average_buffers", buffers, gan._gan.average_buffers)):
        if stored.dtype != np.float32 or stored.shape != target.shape:
            raise ValueError(f"{name}: expected float32 of shape {target.shape}, got {stored.dtype} {stored.shape}")
        if not np.all(np.isfinite(stored)):
            raise ValueError(f"{name} contains NaN or Inf")
    return params, buffers


def _running_variances_ok(net, buffers: np.ndarray) -> bool:
    """The running variances (second half of each batch-norm layer's buffers) are >= 0."""
    offset = 0
    for mean, var in net._net.buffer_views():
        if np.any(buffers[offset + mean.size:offset + mean.size + var.size] < 0):
            return False
        offset += mean.size + var.size
    return True


def _dropout_state(meta: dict, name: str, net):
    """The stored (seed, counter) of a network's dropout masks; None when the file has
    none (files from before dropout), which only a network without dropout may lack."""
    words = meta.get(f"{name}_dropout_state")
    if words is None:
        if net.dropout > 0:
            raise ValueError(f"{name}_dropout_state: missing, but {name} uses dropout")
        return None
    state = [int(w) for w in words] if isinstance(words, list) and all(isinstance(w, str) for w in words) else []
    if len(state) != 2 or not all(0 <= w < 2**64 for w in state):
        raise ValueError(f"{name}_dropout_state: expected two 64-bit words (seed, counter), got {brief(words)}")
    return tuple(state)


def _pcg64_state(generator: np.random.Generator) -> dict:
    state = generator.bit_generator.state
    return {"state": str(state["state"]["state"]), "inc": str(state["state"]["inc"]),
            "has_uint32": int(state["has_uint32"]), "uinteger": int(state["uinteger"])}


def _pcg64_from_state(d: dict) -> np.random.Generator:
    if not isinstance(d, dict):
        raise ValueError(f"batch_rng_state: expected a dict, got {type(d).__name__}")
    bit_generator = np.random.PCG64()
    bit_generator.state = {"bit_generator": "PCG64",
                           "state": {"state": int(d["state"]), "inc": int(d["inc"])},
                           "has_uint32": int(d["has_uint32"]), "uinteger": int(d["uinteger"])}
    return np.random.Generator(bit_generator)
