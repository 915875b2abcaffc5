"""The GAN: a generator and a discriminator MLP joined in C++ (cpp/src/gan.cpp).

Each d_step/g_step is one call into the core (forward, backward and update, GIL
released); this class only checks arguments and names the results."""
from __future__ import annotations

import contextlib
import threading
import weakref
from typing import NamedTuple, Optional

import numpy as np

from . import _core
from . import _validation as check
from .history import History
from .nn import MLP
from .optim import SGD, Adam

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

    Modes: d_step, g_step and fit run both networks in training mode (batch norm on batch
    statistics, updating its running statistics; dropout on), like PyTorch modules in
    .train(); sample and discriminate use inference mode (running statistics, no dropout).
    In d_step, D sees the real and the fake rows in one pass, but batch norm normalises
    each with its own statistics, as two separate calls D(x_real), D(G(z)) would.
    """

    def __init__(self, G: MLP, D: MLP, noise_dim: Optional[int] = None,
                 g_loss: str = "non_saturating", d_optimizer=None, g_optimizer=None,
                 noise: str = "normal", seed: Optional[int] = 0, pack: int = 1,
                 ema: Optional[float] = None):
        if not isinstance(G, MLP):
            raise TypeError(f"G: expected a gankit.MLP, got {type(G).__name__}")
        if not isinstance(D, MLP):
            raise TypeError(f"D: expected a gankit.MLP, got {type(D).__name__}")
        if G is D:
            raise ValueError("G and D: expected two different networks, got the same MLP twice")
        for name, net in (("G", G), ("D", D)):
            if _owner_of(net) is not None:
                raise ValueError(f"{name}: expected a network not used by another GAN, got one that "
                                 "already belongs to a GAN (building this GAN would re-initialise it and "
                                 "reset its optimizer under the other); build a new MLP for each GAN")
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
        if not G._weights_given:
            G._net.init_glorot(int(g_seed))
        if not D._weights_given:
            D._net.init_glorot(int(d_seed))
        if not G._dropout_seed_given:
            G._net.dropout_state = (g_dropout_seed, 0)
        if not D._dropout_seed_given:
            D._net.dropout_state = (d_dropout_seed, 0)
        self.G, self.D = G, D
        self.d_optimizer._configure(D._net)
        self.g_optimizer._configure(G._net)
        self._gan = _core.Gan(G._net, D._net, noise_dim, g_loss, noise, noise_seed, pack, ema)
        self.history = History()
        self._sampler: Optional[np.random.Generator] = None  # draws batch indices in fit
        # The thread using this GAN right now (fit holds it for the whole run): another
        # thread's call is refused instead of interleaving with it between two C++ steps,
        # where the core's own guard cannot see it.
        self._user = threading.RLock()
        G._gan_owner = D._gan_owner = weakref.ref(self)

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
    def d_step(self, x_real, z=None) -> DStepResult:
        """One discriminator update on a real batch x_real (n, data_dim) and fakes G(z), both
        networks in training mode.

        z: noise of shape (m, noise_dim); None draws len(x_real) rows from the GAN's RNG.
        With batch norm in G or D, each normalised batch needs at least 2 rows (ValueError
        naming it otherwise, before anything changes)."""
        n_fake = _rows(x_real) if z is None else 0
        with self._exclusive("d_step"):
            return DStepResult(*self._gan.d_step(x_real, z, n_fake))

    def g_step(self, z=None, batch_size: Optional[int] = None) -> GStepResult:
        """One generator update on noise z (n, noise_dim), or on batch_size rows drawn
        from the GAN's RNG when z is None; both networks in training mode (D's parameters
        are not updated, but its batch-norm running statistics and dropout counter advance,
        as in PyTorch)."""
        if z is None:
            if batch_size is None:
                raise ValueError("g_step: expected noise z or a batch_size, got neither")
            batch_size = check.count(batch_size, "batch_size")
        elif batch_size is not None:
            raise ValueError("g_step: expected noise z or a batch_size, got both")
        with self._exclusive("g_step"):
            return GStepResult(*self._gan.g_step(z, batch_size or 0))

    # -- training loop -------------------------------------------------------------
    def fit(self, X, batch_size: int = 256, d_steps: int = 1, max_iter: int = 10_000,
            min_loss: Optional[float] = None, min_loss_on: str = "g_loss",
            equilibrium_tol: Optional[float] = None, window: int = 100, checkpoint=None,
            checkpoint_every: int = 1000, progress: bool = False, callbacks=(), resume=None) -> History:
        """Train on the rows of X (n, data_dim): each iteration runs d_steps (the seed's k)
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
        iteration's values. Returns self.history (also kept on the GAN)."""
        from .training import fit
        with self._exclusive("fit"):
            return fit(self, X, batch_size=batch_size, d_steps=d_steps, max_iter=max_iter,
                       min_loss=min_loss, min_loss_on=min_loss_on, equilibrium_tol=equilibrium_tol,
                       window=window, checkpoint=checkpoint, checkpoint_every=checkpoint_every,
                       progress=progress, callbacks=callbacks, resume=resume)

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

    def _batch_sampler(self) -> np.random.Generator:
        if self._sampler is None:
            self._sampler = np.random.Generator(np.random.PCG64(self._batch_seed))
        return self._sampler

    # -- persistence -----------------------------------------------------------------
    def save(self, path) -> None:
        """Write everything needed to continue exactly: architecture, weights, optimizer
        state, RNG states, iteration and history. Atomic: an interrupted save leaves
        any previous file at `path` intact."""
        from .serialization import save_gan
        path = check.path(path, "path")
        with self._exclusive("save"):
            save_gan(self, path)

    @classmethod
    def load(cls, path) -> "GAN":
        """A GAN from a file written by save(); gankit.CheckpointError (a ValueError) if
        the file is not a gankit checkpoint, is truncated or corrupted, or comes from a
        newer format version. Nothing in the file is executed."""
        from .serialization import load_gan
        return load_gan(check.path(path, "path"))

    def _restore(self, path) -> None:
        from .serialization import restore_gan
        with self._exclusive("resume"):
            restore_gan(self, path)

    # -- using the model ---------------------------------------------------------
    def reseed_noise(self, seed: int) -> None:
        """Restart the noise stream from `seed` (sample() and steps without z use it)."""
        state = _core.Rng(check.seed(seed)).state
        with self._exclusive("reseed_noise"):
            self._gan.rng_state = state

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


def _owner_of(net: MLP) -> Optional[GAN]:
    """The live GAN `net` belongs to, if any (a GAN that was dropped releases it)."""
    ref = getattr(net, "_gan_owner", None)
    return None if ref is None else ref()


def _rows(x) -> int:
    try:
        shape = np.shape(x)
    except Exception:  # not array-like (ragged, ...): the core names x_real in its error
        return 0
    return int(shape[0]) if len(shape) >= 1 else 0
