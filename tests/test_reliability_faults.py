"""Numerical faults and interruptions.

- Training that blows up (a huge learning rate, exploding logits, parameters that
  overflow while the loss is still finite) stops with stop_reason "diverged", and the
  GAN is left exactly as an uninterrupted run of the iterations that were kept: finite
  parameters, optimizer state, RNG states and history all rolled back together.
- The losses stay finite, with bounded gradients, for any finite float32 logits.
- An iteration interrupted by an exception (KeyboardInterrupt from a signal at a random
  moment, an error inside a step) is undone: the GAN is at the end of its last recorded
  iteration, and going on gives bitwise what an uninterrupted run gives.
"""
import _thread
import threading

import numpy as np
import pytest
from hypothesis import given, strategies as st

import gankit as gk
from gankit import _core
from reliability_support import isolated, record_count, scaled, state_of

DATA = gk.datasets.ring(n=512, seed=0)
FINITE_FLOAT32 = st.floats(width=32, allow_nan=False, allow_infinity=False)


def make_gan(opt=None, seed=0, sizes=(2, 16, 2), g_opt=None):
    opt = opt or gk.Adam(lr=1e-3)
    return gk.GAN(gk.MLP(list(sizes)), gk.MLP([sizes[-1], 16, 1]), seed=seed, d_optimizer=opt,
                  g_optimizer=g_opt or opt)


def uninterrupted(iterations, **kwargs):
    """A fresh GAN trained for exactly `iterations` in one go (the reference)."""
    gan = make_gan(**kwargs)
    if iterations:
        gan.fit(DATA, batch_size=32, max_iter=iterations)
    return gan


def assert_diverged_cleanly(gan, fragment, **make_kwargs):
    with pytest.warns(RuntimeWarning, match=f"diverged at iteration .*{fragment}"):
        hist = gan.fit(DATA, batch_size=32, max_iter=10_000)
    assert hist.stop_reason == "diverged"
    kept = len(hist)
    for view in (gan.G.params, gan.D.params, gan.G._net.optimizer_state, gan.D._net.optimizer_state):
        assert np.all(np.isfinite(view))
    reference = uninterrupted(kept, **make_kwargs)
    reference.history.stop_reason = "diverged"
    assert state_of(gan) == state_of(reference), "the rolled-back state is not the state after the kept iterations"
    # And the GAN is usable: it samples finite values and can be saved and loaded.
    assert np.all(np.isfinite(gan.sample(64)))
    return kept


@pytest.mark.parametrize("opt", [gk.SGD(lr=1e4), gk.SGD(lr=1e30), gk.Adam(lr=1e20), gk.SGD(lr=3e38)],
                         ids=["sgd-1e4", "sgd-1e30", "adam-1e20", "sgd-3e38"])
def test_huge_learning_rates_stop_as_diverged_with_the_last_finite_state(opt):
    gan = make_gan(opt)
    kept = assert_diverged_cleanly(gan, "", opt=opt)
    assert kept < 10_000


def test_parameters_that_overflow_while_the_loss_is_finite_count_as_divergence():
    """The generator's update (the last of an iteration) overflows its weights through
    an enormous weight decay, after that step's loss was computed from finite ones: the
    losses alone would notice only an iteration later. The first iteration is undone."""
    d_opt, g_opt = gk.SGD(lr=1e-3), gk.SGD(lr=1e10, weight_decay=1e30)
    gan = make_gan(d_opt, g_opt=g_opt)
    with pytest.warns(RuntimeWarning, match="diverged at iteration 1: the parameters or optimizer state"):
        hist = gan.fit(DATA, batch_size=32, max_iter=100)
    assert hist.stop_reason == "diverged" and len(hist) == 0
    reference = make_gan(d_opt, g_opt=g_opt)
    reference.history.stop_reason = "diverged"
    assert state_of(gan) == state_of(reference)


def test_exploding_logits_stop_as_diverged_with_the_given_weights_kept():
    """A discriminator with huge (finite) weights gives logits beyond float32: the loss
    turns infinite and training stops as diverged, with the given weights kept."""
    gan = make_gan(gk.Adam(lr=1e-3))
    weights = gan.D.get_weights()
    gan.D.set_weights([(w * 1e19, b) for w, b in weights])
    before = state_of(gan)
    with pytest.warns(RuntimeWarning, match="diverged at iteration 1"):
        hist = gan.fit(DATA, batch_size=32, max_iter=100)
    assert hist.stop_reason == "diverged" and len(hist) == 0
    assert state_of(gan)[:-1] == before[:-1]  # all but stop_reason


def test_fit_refuses_to_start_from_non_finite_parameters():
    gan = make_gan()
    gan.G.params[3] = np.nan  # written through the zero-copy view
    with pytest.raises(ValueError, match="finite parameters"):
        gan.fit(DATA, batch_size=32, max_iter=3)
    assert len(gan.history) == 0


@given(real=st.lists(FINITE_FLOAT32, min_size=1, max_size=40), fake=st.lists(FINITE_FLOAT32, min_size=1, max_size=40))
def test_discriminator_loss_is_finite_for_any_finite_logits(real, fake):
    real, fake = np.array(real, np.float32), np.array(fake, np.float32)
    loss, d_real, d_fake = _core.discriminator_loss(real, fake)
    assert np.isfinite(loss) and loss >= 0
    assert np.all(np.abs(d_real) <= 1.0 / len(real)) and np.all(np.abs(d_fake) <= 1.0 / len(fake))
    # Independent float64 reference: softplus(-l) for real, softplus(l) for fake.
    softplus = lambda t: np.logaddexp(0.0, t)  # noqa: E731
    expected = softplus(-real.astype(np.float64)).mean() + softplus(fake.astype(np.float64)).mean()
    assert np.isclose(loss, expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("kind", ["minimax", "non_saturating"])
@given(logits=st.lists(FINITE_FLOAT32, min_size=1, max_size=40))
def test_generator_losses_are_finite_for_any_finite_logits(kind, logits):
    logits = np.array(logits, np.float32)
    loss, grad = _core.generator_loss(logits, kind)
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    assert np.all(np.abs(grad) <= 1.0 / len(logits))
    x = logits.astype(np.float64)
    expected = -np.logaddexp(0.0, x).mean() if kind == "minimax" else np.logaddexp(0.0, -x).mean()
    assert np.isclose(loss, expected, rtol=1e-12, atol=0)


def test_extreme_but_finite_logits_train_without_nan():
    """Logits of +-1e30 saturate every sigmoid, yet the step's loss and gradients stay
    finite (only the loss value is huge)."""
    gan = make_gan(gk.SGD(lr=1e-3))
    weights = gan.D.get_weights()
    gan.D.set_weights([(w * 1e8, b) for w, b in weights])
    d = gan.d_step(DATA[:32])
    g = gan.g_step(batch_size=32)
    assert np.isfinite(d.d_loss) and np.isfinite(g.g_loss)
    assert np.all(np.isfinite(gan.D.params)) and np.all(np.isfinite(gan.G.params))


# -- interruptions ---------------------------------------------------------------------------
def test_an_exception_inside_an_iteration_undoes_it_and_the_run_continues_exactly(monkeypatch):
    """The 6th generator step raises after the discriminator steps of that iteration
    ran: the GAN is put back to the end of iteration 5, and continuing to 12 gives the
    uninterrupted run's state bitwise."""
    gan = make_gan()
    real_g_step, calls = gan.g_step, {"n": 0}

    def failing_g_step(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 6:
            raise MemoryError("simulated failure inside an iteration")
        return real_g_step(*args, **kwargs)

    monkeypatch.setattr(gan, "g_step", failing_g_step)
    with pytest.raises(MemoryError):
        gan.fit(DATA, batch_size=32, d_steps=2, max_iter=12)
    reference5 = make_gan()
    reference5.fit(DATA, batch_size=32, d_steps=2, max_iter=5)
    # [:-1]: all but stop_reason, which the interrupted fit left unset
    assert len(gan.history) == 5 and state_of(gan)[:-1] == state_of(reference5)[:-1]
    monkeypatch.undo()
    gan.fit(DATA, batch_size=32, d_steps=2, max_iter=12)
    reference = make_gan()
    reference.fit(DATA, batch_size=32, d_steps=2, max_iter=12)
    assert state_of(gan) == state_of(reference)


def test_an_exception_from_a_callback_keeps_the_iteration_it_reported():
    gan = make_gan()

    def stop_hard(iteration, record, gan):
        if iteration == 4:
            raise RuntimeError("callback failed")

    with pytest.raises(RuntimeError, match="callback failed"):
        gan.fit(DATA, batch_size=32, max_iter=10, callbacks=[stop_hard])
    assert state_of(gan)[:-1] == state_of(uninterrupted(4))[:-1]


@isolated(timeout=900)
def test_keyboard_interrupts_at_random_moments_never_corrupt_the_run():
    """A timer thread delivers KeyboardInterrupt to the training thread at a random
    moment, many times. After each, the GAN equals an uninterrupted run of as many
    iterations as it recorded; at the end, a finished run equals the reference."""
    rng = np.random.default_rng(11)
    interrupts, landed = scaled(60, minimum=10), 0
    gan = make_gan(sizes=(2, 32, 2))
    reference = make_gan(sizes=(2, 32, 2))  # advanced alongside: iterations only grow

    for _ in range(interrupts):
        timer = threading.Timer(float(rng.uniform(0.001, 0.03)), _thread.interrupt_main)
        try:
            try:
                timer.start()  # inside: under load the timer may fire before fit begins
                gan.fit(DATA, batch_size=32, max_iter=10**9)
            finally:
                timer.cancel()
                timer.join()
        except KeyboardInterrupt:
            landed += 1
        kept = len(gan.history)
        if kept:
            reference.fit(DATA, batch_size=32, max_iter=kept)
        # [:-1]: all but stop_reason, which an interrupted fit leaves as it was
        assert state_of(gan)[:-1] == state_of(reference)[:-1], \
            f"interrupted after {kept} iterations: the state differs from {kept} uninterrupted ones"
    gan.fit(DATA, batch_size=32, max_iter=len(gan.history) + 50)
    reference.fit(DATA, batch_size=32, max_iter=len(reference.history) + 50)
    assert state_of(gan) == state_of(reference)
    record_count("KeyboardInterrupts during fit", {"delivered": landed, "iterations": len(gan.history)})
    assert landed == interrupts
