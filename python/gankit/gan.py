"""The GAN: a generator and a discriminator MLP joined in C++ (cpp/src/gan.cpp).

Each d_step/g_step is one call into the core (forward, backward and update, GIL
released); this class only checks arguments and names the results."""
from __future__ import annotations

import contextlib
import threading
from typing import NamedTuple, Optional

import numpy as np

from . import _core, checkpoint, training
from . import _validation as check
from .history import History
from .nn import MLP, PRECISIONS, check_precision_runs_here, checked_state
from .optim import SGD, Adam, optimizer_from_dict, optimizer_to_dict

G_LOSSES = ("non_saturating", "minimax")
MAX_PACK = int(_core.MAX_PACK)
NOISES = ("normal", "uniform")


class DStepResult(NamedTuple):
    """One discriminator update: its loss, mean D(x) on the real batch, mean D(G(z))."""
    d_loss: float
    d_real: float
    d_fake: float


class GStepResult(NamedTuple):
    """One generator update: its loss and mean D(G(z)) (before the update)."""
    g_loss: float
    d_fake: float


class GAN:
    """A generator G (noise -> data) and a discriminator D (data -> logit of P(real | x)).

    g_loss: "non_saturating" (minimise -log D(G(z))) or "minimax" (minimise
    log(1 - D(G(z))), the original objective). D's loss is always the binary
    cross-entropy of real vs fake. noise: "normal" (N(0, 1)) or "uniform" ([-1, 1)).
    seed: makes the run reproducible: it seeds the noise and initialises every network
    that was not given its own seed or weights.

    pack: PacGAN's packing (Lin et al., NeurIPS 2018): D judges `pack` samples at once,
    concatenated into one input, so D's input size must be pack x G's output size. Real
    packs are consecutive rows of a real batch, fake packs consecutive rows of G's batch
    (in C++, no copy: a batch of n rows is n / pack packs); every batch must be a multiple
    of pack, and the losses and D outputs are means over packs.
    ema: generator averaging (Yazici et al., ICLR 2019): an exponential moving average of
    G's parameters and batch-norm statistics with this decay (e.g. 0.999), updated in C++
    after every generator step and used by sample() (averaged=False gives G itself); None
    or 0 turns it off.
    precision: "fp32" or "bf16" for the products of both networks' dense layers (see
    MLP); None (default) leaves each network's own precision.

    Modes: d_step, g_step and fit run both networks in training mode (batch norm on batch
    statistics, updating its running statistics; dropout on), like PyTorch modules in
    .train(); sample and discriminate use inference mode (running statistics, no dropout).
    In d_step, D sees the real and the fake rows in one pass, but batch norm normalises
    each with its own statistics, as two separate calls D(x_real), D(G(z)) would.
    """

    def __init__(self, G: MLP, D: MLP, noise_dim: Optional[int] = None,
                 g_loss: str = "non_saturating", d_optimizer=None, g_optimizer=None,
                 noise: str = "normal", seed: Optional[int] = 0, pack: int = 1,
                 ema: Optional[float] = None, precision: Optional[str] = None):
        if not isinstance(G, MLP):
            raise TypeError(f"G: expected a gankit.MLP, got {type(G).__name__}")
        if not isinstance(D, MLP):
            raise TypeError(f"D: expected a gankit.MLP, got {type(D).__name__}")
        if G is D:
            raise ValueError("G and D: expected two different networks, got the same MLP twice")
        if noise_dim is None:
            noise_dim = G.sizes[0]
        noise_dim = check.integer(noise_dim, "noise_dim", low=1)
        if noise_dim != G.sizes[0]:
            raise ValueError(f"noise_dim: expected the generator's input size {G.sizes[0]}, got {noise_dim}")
        pack = check.integer(pack, "pack", low=1, high=MAX_PACK)
        if pack == 1 and G.sizes[-1] != D.sizes[0]:
            raise ValueError(f"G and D: the generator's output size {G.sizes[-1]} must equal "
                             f"the discriminator's input size {D.sizes[0]}")
        if pack > 1 and G.sizes[-1] * pack != D.sizes[0]:
            raise ValueError(f"D: with pack={pack} the discriminator sees packs of {pack} samples, so "
                             f"its input size must be pack x the generator's output size = "
                             f"{pack} x {G.sizes[-1]} = {pack * G.sizes[-1]}, got {D.sizes[0]} "
                             f"(build D as MLP([{pack * G.sizes[-1]}, ..., 1]))")
        ema = 0.0 if ema is None else check.float32_number(ema, "ema", low=0, high=1, high_inclusive=False)
        if D.sizes[-1] != 1:
            raise ValueError(f"D: expected a discriminator with one output (a logit), got {D.sizes[-1]} outputs")
        if precision is not None:
            precision = check.choice(precision, "precision", PRECISIONS)
            check_precision_runs_here(precision)
        g_loss = check.choice(g_loss, "g_loss", G_LOSSES)
        noise = check.choice(noise, "noise", NOISES)
        self.d_optimizer = _optimizer(d_optimizer, "d_optimizer")
        self.g_optimizer = _optimizer(g_optimizer, "g_optimizer")
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % 2**63)
        self.seed = check.seed(seed)

        # Independent streams for G's weights, D's weights, the noise, the batches and the
        # dropout masks of G and D (SeedSequence's first words do not depend on how many
        # are drawn, so the first four are what they were before dropout existed).
        g_seed, d_seed, noise_seed, self._batch_seed, g_dropout_seed, d_dropout_seed = (
            int(s) for s in np.random.SeedSequence(self.seed).generate_state(6, np.uint64))
        g_net = G._join(self, "G", g_seed, g_dropout_seed, self.g_optimizer)
        d_net = D._join(self, "D", d_seed, d_dropout_seed, self.d_optimizer)
        if precision is not None:
            g_net.precision = d_net.precision = precision
        self.G, self.D = G, D
        self._gan = _core.Gan(g_net, d_net, noise_dim, g_loss, noise, noise_seed, pack, ema)
        self.history = History()
        self._sampler: Optional[np.random.Generator] = None  # draws batch indices in fit
        # The thread using this GAN right now (fit holds it for the whole run): another
        # thread's call is refused instead of interleaving with it between two C++ steps,
        # where the core's own guard cannot see it.
        self._user = threading.RLock()

    # -- description -----------------------------------------------------------
    @property
    def noise_dim(self) -> int:
        return int(self._gan.noise_dim)

    @property
    def data_dim(self) -> int:
        return int(self._gan.data_dim)

    @property
    def pack(self) -> int:
        """Samples D judges at once (1: the plain GAN)."""
        return int(self._gan.pack)

    @property
    def ema(self) -> Optional[float]:
        """The generator average's decay, or None when averaging is off."""
        return float(self._gan.ema) or None

    @property
    def average_params(self) -> np.ndarray:
        """The averaged generator's parameters (G.params' layout), a NumPy view of the
        C++ buffer; empty when averaging is off."""
        return self._gan.average_params

    @property
    def g_loss(self) -> str:
        return self._gan.g_loss

    @property
    def noise_kind(self) -> str:
        return self._gan.noise_kind

    def __repr__(self) -> str:
        return (f"GAN(G={self.G!r}, D={self.D!r}, g_loss={self.g_loss!r}, "
                f"noise={self.noise_kind!r}, seed={self.seed}, pack={self.pack}, ema={self.ema})")

    # -- training steps ----------------------------------------------------------
    def d_step(self, x_real, z=None, *, update: bool = True) -> DStepResult:
        """One discriminator update on a real batch x_real (n, data_dim) and fakes G(z), both
        networks in training mode.

        z: noise of shape (m, noise_dim); None draws len(x_real) rows from the GAN's RNG.
        With batch norm in G or D, each normalised batch needs at least 2 rows (ValueError
        naming it otherwise, before anything changes). update=False stops after the
        backward pass: D's gradients are left in D.grads (to be combined across processes,
        say) and apply_update("D") finishes the step, to the bit as update=True would."""
        n_fake = _rows(x_real) if z is None else 0
        update = check.boolean(update, "update")
        with self._exclusive("d_step"):
            return DStepResult(*self._gan.d_step(x_real, z, n_fake, update))

    def g_step(self, z=None, batch_size: Optional[int] = None, *, update: bool = True) -> GStepResult:
        """One generator update on noise z (n, noise_dim), or on batch_size rows drawn
        from the GAN's RNG when z is None; both networks in training mode (D's parameters
        are not updated, but its batch-norm running statistics and dropout counter advance,
        as in PyTorch). update=False leaves G's gradients in G.grads for apply_update("G"),
        as d_step's does."""
        update = check.boolean(update, "update")
        if z is None:
            if batch_size is None:
                raise ValueError("g_step: expected noise z or a batch_size, got neither")
            batch_size = check.count(batch_size, "batch_size")
        elif batch_size is not None:
            raise ValueError("g_step: expected noise z or a batch_size, got both")
        with self._exclusive("g_step"):
            return GStepResult(*self._gan.g_step(z, batch_size or 0, update))

    def apply_update(self, network: str) -> None:
        """The optimizer update of network "D" or "G" from its gradient buffer, which a
        step with update=False filled (and the caller may have rewritten in place, e.g.
        with gradients averaged over processes); for "G" also the generator average.
        RuntimeError when no such step came first."""
        network = check.choice(network, "network", ("D", "G"))
        with self._exclusive("apply_update"):
            self._gan.apply_update(network)

    # -- training loop -------------------------------------------------------------
    def fit(self, X, batch_size: int = 256, d_steps: int = 1, max_iter: int = 10_000,
            min_loss: Optional[float] = None, min_loss_on: str = "g_loss",
            equilibrium_tol: Optional[float] = None, window: int = 100, checkpoint=None,
            checkpoint_every: int = 1000, progress: bool = False, callbacks=(), resume=None,
            comm=None, check_replicas: int = 0) -> History:
        """Train on the rows of X (n, data_dim): each iteration runs d_steps (Goodfellow et al.'s k)
        discriminator steps on random batches of X, then one generator step.

        Stops on the first rule that holds: max_iter total iterations (resumed runs
        count what came before); min_loss: the mean of `min_loss_on` ("g_loss" or
        "d_loss") over the last `window` iterations at or below it; equilibrium_tol:
        mean D(x) and mean D(G(z)) over the last `window` iterations both within tol of
        0.5 (the optimal D* = 1/2); a callback returning True; and always "diverged" when
        a loss, a parameter or the optimizer state becomes non-finite, with the state
        after the last finite iteration restored and a RuntimeWarning. An iteration cut
        short by an exception (KeyboardInterrupt, ...) is undone the same way, so the GAN
        is always at the end of its last recorded iteration.

        checkpoint: a path saved every `checkpoint_every` iterations and at the end
        (atomically); resume: a checkpoint path to continue from. callbacks:
        callables cb(iteration, record, gan) called after every iteration with that
        iteration's values. Returns self.history (also kept on the GAN).

        comm: an mpi4py communicator (MPI.COMM_WORLD) to train data-parallel over its
        ranks, batch_size being the global batch (gankit.distributed explains how, and
        what is refused); every rank calls fit with the same arguments. Rank 0 prints
        the progress and writes the checkpoints; every rank ends with the same GAN and
        history. check_replicas=n (with comm) compares a digest of every rank's state
        each n iterations and raises if they differ (a debugging aid; 0 = off)."""
        with self._exclusive("fit"):
            return training.fit(self, X, batch_size=batch_size, d_steps=d_steps, max_iter=max_iter,
                       min_loss=min_loss, min_loss_on=min_loss_on, equilibrium_tol=equilibrium_tol,
                       window=window, checkpoint=checkpoint, checkpoint_every=checkpoint_every,
                       progress=progress, callbacks=callbacks, resume=resume, comm=comm,
                       check_replicas=check_replicas)

    @property
    def iteration(self) -> int:
        """Training iterations done so far (across resumes)."""
        return len(self.history)

    @contextlib.contextmanager
    def _exclusive(self, what: str):
        """Hold the GAN for the calling thread; a call from another thread while one is
        in progress raises ConcurrentUseError (the same thread may nest: fit calls d_step)."""
        if not self._user.acquire(blocking=False):
            raise _core.ConcurrentUseError(
                f"{what}: this GAN is already in use by another thread; use one GAN per "
                "thread or serialise the calls")
        try:
            yield
        finally:
            self._user.release()

    @property
    def batch_rng(self) -> np.random.Generator:
        """The generator fit draws its batches' rows from (PCG64, seeded from the GAN's
        seed; part of the state, so checkpoints continue it)."""
        if self._sampler is None:
            self._sampler = np.random.Generator(np.random.PCG64(self._batch_seed))
        return self._sampler

    # -- settings and state ----------------------------------------------------------
    def config(self) -> dict:
        """The constructor's settings as plain data (GAN.from_config builds the same GAN)."""
        return {"G": self.G.config(), "D": self.D.config(), "g_loss": self.g_loss,
                "noise": self.noise_kind, "seed": self.seed, "pack": self.pack, "ema": self.ema,
                "d_optimizer": optimizer_to_dict(self.d_optimizer),
                "g_optimizer": optimizer_to_dict(self.g_optimizer)}

    @classmethod
    def from_config(cls, config: dict) -> "GAN":
        """A new GAN with the settings of `config` (as config() returns), initialised
        from its seed."""
        return cls(MLP(**config["G"]), MLP(**config["D"]), g_loss=config["g_loss"],
                   noise=config["noise"], seed=config["seed"], pack=config["pack"], ema=config["ema"],
                   d_optimizer=optimizer_from_dict(config["d_optimizer"]),
                   g_optimizer=optimizer_from_dict(config["g_optimizer"]))

    def state_dict(self, history: bool = True) -> dict:
        """The whole state a training run changes, as a flat dict of plain data:

        - "G.<key>", "D.<key>": each network's MLP.state_dict() (params, optimizer_state,
          optimizer_step, buffers, dropout_state);
        - "G.average_params", "G.average_buffers": the generator average (with ema only);
        - "noise_rng_state": the noise stream's four 64-bit words; "batch_rng_state": the
          batch rows' PCG64 state as NumPy writes it (None until fit first draws);
        - "iteration": iterations done; with history=True also "history.<column>"
          (float64 arrays) and "history.stop_reason".

        Arrays are live views of the C++ buffers (copy them to keep a snapshot);
        load_state_dict takes the dict back. Together with config() it is everything
        GAN.save writes."""
        state = {}
        for name, net in (("G", self.G), ("D", self.D)):
            state.update({f"{name}.{key}": value for key, value in net.state_dict().items()})
        if self._gan.ema:
            state["G.average_params"] = self._gan.average_params
            state["G.average_buffers"] = self._gan.average_buffers
        state["noise_rng_state"] = tuple(self._gan.rng_state)
        state["batch_rng_state"] = None if self._sampler is None else self._sampler.bit_generator.state
        state["iteration"] = len(self.history)
        if history:
            state.update(self.history.to_arrays())
            state["history.stop_reason"] = self.history.stop_reason
        return state

    def load_state_dict(self, state: dict) -> None:
        """Set the whole state from a dict like state_dict() returns. Everything is
        checked before anything is written, so a bad dict leaves the GAN unchanged.
        Without "history.*" entries the history is cut back to state["iteration"]
        (which must not exceed its length): how fit undoes an iteration."""
        with self._exclusive("load_state_dict"):
            self._load_state(state)

    def _load_state(self, state: dict) -> None:
        if not isinstance(state, dict):
            raise TypeError(f"state: expected a dict like GAN.state_dict() returns, got {type(state).__name__}")
        nets = {}
        for name, net in (("G", self.G), ("D", self.D)):
            part = {key[2:]: value for key, value in state.items() if key.startswith(f"{name}.")
                    and not key.startswith("G.average_")}
            nets[name] = part
            checked_state(net, part, f"{name}.")
        average = self._checked_average(state)
        rng_state = _checked_words(state.get("noise_rng_state"), "noise_rng_state")
        sampler = _checked_batch_rng(state.get("batch_rng_state", None))
        history = self._checked_history(state)
        for name, net in (("G", self.G), ("D", self.D)):
            net.load_state_dict(nets[name], prefix=f"{name}.")
        if average is not None:
            self._gan.average_params[...] = average[0]
            if average[1].size:
                self._gan.average_buffers[...] = average[1]
        self._gan.rng_state = list(rng_state)
        self._sampler = sampler
        if isinstance(history, History):
            self.history = history
        else:
            self.history.truncate(history)

    def _checked_average(self, state: dict):
        """The generator average (params, buffers) as float32 arrays, or None without ema."""
        if self.ema is None:
            extra = [k for k in ("G.average_params", "G.average_buffers") if k in state]
            if extra:
                raise ValueError(f"{extra[0]}: given, but this GAN does not average its generator (ema is None)")
            return None
        checked = []
        for key, target in (("G.average_params", self._gan.average_params),
                            ("G.average_buffers", self._gan.average_buffers)):
            if key not in state:
                raise ValueError(f"{key}: missing, but the GAN averages its generator (ema)")
            checked.append(check.float32_array(state[key], key, target.shape))
        return tuple(checked)

    def _checked_history(self, state: dict):
        """A History from the "history.*" entries, or the length to cut the history to."""
        if any(key.startswith("history.") for key in state):
            return History.from_arrays(state, state.get("history.stop_reason"))
        iteration = check.integer(state.get("iteration"), "iteration", low=0)
        if iteration > len(self.history):
            raise ValueError(f"iteration: expected at most this GAN's {len(self.history)} iterations "
                             f"when the state has no history, got {iteration}")
        return iteration

    def save(self, path) -> None:
        """Write everything needed to continue exactly: config() and state_dict()
        (architecture, weights, optimizer state, RNG states, iteration and history).
        Atomic: an interrupted save leaves any previous file at `path` intact."""
        path = check.path(path, "path")
        with self._exclusive("save"):
            checkpoint.write(path, self.config(), self.state_dict())

    @classmethod
    def load(cls, path) -> "GAN":
        """A GAN from a file written by save(); gankit.CheckpointError (a ValueError) if
        the file is not a gankit checkpoint, is truncated or corrupted, or comes from a
        newer format version. Nothing in the file is executed."""
        path = check.path(path, "path")
        config, state = checkpoint.read(path)
        with checkpoint.usable(path):
            gan = cls.from_config(config)
            gan.load_state_dict(state)
        return gan

    def resume(self, path) -> None:
        """Continue from a checkpoint of a GAN with the same settings (all but the seed):
        ValueError naming the first setting that differs, CheckpointError if the file is
        unusable. fit(resume=path) calls this."""
        path = check.path(path, "path")
        config, state = checkpoint.read(path)
        checkpoint.require_same_settings(path, config, self.config())
        with checkpoint.usable(path):
            self.load_state_dict(state)

    # -- using the model ---------------------------------------------------------
    def reseed_noise(self, seed: int) -> None:
        """Restart the noise stream from `seed` (sample() and steps without z use it)."""
        state = _core.Rng(check.seed(seed)).state
        with self._exclusive("reseed_noise"):
            self._gan.rng_state = state

    def noise_shard(self, first_row: int, n: int) -> np.ndarray:
        """Rows [first_row, first_row + n) of a data-parallel step's noise, float32
        (n, noise_dim): global row i comes from its own stream, seeded from (one draw of
        the GAN's RNG, i), so each process draws only its own rows, all processes' RNGs
        stay equal, and the global noise is the same for any number of processes."""
        n = check.count(n, "n")
        first_row = check.integer(first_row, "first_row", low=0, high=check.MAX_ROWS - n)
        with self._exclusive("noise_shard"):
            return self._gan.noise_shard(first_row, n)

    def noise(self, n: int) -> np.ndarray:
        """n rows of noise from the GAN's RNG, float32 (n, noise_dim)."""
        n = check.count(n, "n")
        with self._exclusive("noise"):
            return self._gan.noise(n)

    def sample(self, n: int, z=None, averaged: bool = True) -> np.ndarray:
        """n generated samples G(z), float32 (n, data_dim), in inference mode (batch norm's
        running statistics, no dropout); z drawn from the GAN's RNG unless given. With
        generator averaging on (ema), the averaged generator makes them unless
        averaged=False."""
        if not isinstance(averaged, (bool, np.bool_)):
            raise TypeError(f"averaged: expected True or False, got {check.brief(averaged)}")
        if z is None:
            n = check.count(n, "n")
        with self._exclusive("sample"):
            if z is not None:
                return self._gan.generate(z, 0, bool(averaged))
            return self._gan.generate(None, n, bool(averaged))

    def discriminate(self, x) -> np.ndarray:
        """D(x) = P(real | x) for x of shape (n, data_dim), float32 (n,), in inference mode.
        With pack > 1, D judges each pack of `pack` consecutive rows: n must be a multiple
        of pack and the result has n / pack values."""
        with self._exclusive("discriminate"):
            return self._gan.discriminate(x)


def _optimizer(opt, name: str):
    if opt is None:
        return Adam()
    if not isinstance(opt, (Adam, SGD)):
        raise TypeError(f"{name}: expected gankit.Adam(...) or gankit.SGD(...), got {type(opt).__name__}")
    return opt


def _checked_words(words, name: str):
    """The noise RNG's state: four 64-bit words, not all zero."""
    if not isinstance(words, (tuple, list)) or len(words) != 4:
        raise ValueError(f"{name}: expected four 64-bit words not all zero, got {check.brief(words)}")
    words = tuple(check.integer(w, f"{name}[{i}]", low=0, high=2**64 - 1) for i, w in enumerate(words))
    if not any(words):
        raise ValueError(f"{name}: expected four 64-bit words not all zero, got all zero")
    return words


def _checked_batch_rng(state) -> Optional[np.random.Generator]:
    """A Generator in the PCG64 state NumPy's bit_generator.state gives, or None."""
    if state is None:
        return None
    if not isinstance(state, dict) or state.get("bit_generator") != "PCG64":
        raise ValueError(f"batch_rng_state: expected a PCG64 state dict or None, got {check.brief(state)}")
    bit_generator = np.random.PCG64()
    try:
        bit_generator.state = state
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise ValueError(f"batch_rng_state: expected a PCG64 state dict, got {check.brief(state)} ({exc})") from None
    return np.random.Generator(bit_generator)


def _rows(x) -> int:
    try:
        shape = np.shape(x)
    except Exception:  # not array-like (ragged, ...): the core names x_real in its error
        return 0
    return int(shape[0]) if len(shape) >= 1 else 0
