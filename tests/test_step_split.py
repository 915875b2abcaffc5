"""A step's gradient half plus apply_update equals the one-call step to the bit (the
split data-parallel training needs), and an update without its gradients is refused."""
import numpy as np
import pytest

import gankit as gk

X = gk.datasets.ring(n=512, seed=0)

SETUPS = {
    "plain adam": dict(),
    "pack 2, ema": dict(pack=2, ema=0.99),
    "batch norm, dropout, sgd": dict(batch_norm=True, dropout=0.2,
                                     optimizer=lambda: gk.SGD(lr=0.05, momentum=0.9)),
    "maxout D, minimax": dict(pieces=3, g_loss="minimax"),
}


def make_gan(setup, seed=11):
    pack = setup.get("pack", 1)
    G = gk.MLP([3, 17, 2], batch_norm=setup.get("batch_norm", False),
               dropout=setup.get("dropout", 0.0))
    pieces = setup.get("pieces")
    D = gk.MLP([2 * pack, 13, 1], pieces=pieces, activation="maxout" if pieces else "leaky_relu")
    optimizer = setup.get("optimizer")
    return gk.GAN(G, D, seed=seed, pack=pack, ema=setup.get("ema"),
                  g_loss=setup.get("g_loss", "non_saturating"),
                  d_optimizer=optimizer() if optimizer else None,
                  g_optimizer=optimizer() if optimizer else None)


def run(gan, split, iterations=6, batch=64):
    rows = np.random.default_rng(5)
    results = []
    for _ in range(iterations):
        x = X[rows.integers(0, len(X), batch)]
        if split:
            d = gan.d_step(x, update=False)
            gan.apply_update("D")
            g = gan.g_step(batch_size=batch, update=False)
            gan.apply_update("G")
        else:
            d = gan.d_step(x)
            g = gan.g_step(batch_size=batch)
        results.append((d, g))
    return results


@pytest.mark.parametrize("name", SETUPS)
def test_split_steps_equal_fused_steps_bitwise(name):
    fused, split = make_gan(SETUPS[name]), make_gan(SETUPS[name])
    assert run(fused, split=False) == run(split, split=True)
    a, b = fused.state_dict(), split.state_dict()
    for key, value in a.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, b[key], err_msg=key)
        else:
            assert value == b[key], key


def test_gradient_half_changes_no_parameter_and_fills_grads():
    gan = make_gan(SETUPS["plain adam"])
    before_d, before_g = gan.D.params.copy(), gan.G.params.copy()
    gan.D.grads[:] = 0
    gan.d_step(X[:64], update=False)
    gan.G.grads[:] = 0
    gan.g_step(batch_size=64, update=False)
    np.testing.assert_array_equal(gan.D.params, before_d)
    np.testing.assert_array_equal(gan.G.params, before_g)
    assert np.abs(gan.D.grads).sum() > 0 and np.abs(gan.G.grads).sum() > 0
    assert gan.D.state_dict()["optimizer_step"] == 0


def test_update_applies_gradients_as_rewritten_in_place():
    """What data-parallel training does: replace the gradients, then update. SGD without
    momentum makes the expected parameters a one-line formula."""
    gan = make_gan({"optimizer": lambda: gk.SGD(lr=0.5)})
    gan.d_step(X[:64], update=False)
    before = gan.D.params.copy()
    gan.D.grads[:] = np.float32(0.25)
    gan.apply_update("D")
    np.testing.assert_array_equal(gan.D.params, before - np.float32(0.5) * np.float32(0.25))


def test_update_without_pending_gradients_is_refused():
    gan = make_gan(SETUPS["plain adam"])
    with pytest.raises(RuntimeError, match=r"apply_update\('D'\): no discriminator gradients pending"):
        gan.apply_update("D")
    gan.d_step(X[:64], update=False)
    gan.apply_update("D")
    with pytest.raises(RuntimeError, match="no discriminator gradients pending"):
        gan.apply_update("D")   # once per update
    gan.g_step(batch_size=64, update=False)
    gan.d_step(X[:64])          # a whole D step in between leaves G's gradients pending
    gan.apply_update("G")
    with pytest.raises(RuntimeError, match=r"apply_update\('G'\)"):
        gan.apply_update("G")


@pytest.mark.parametrize("network, error", [("X", ValueError), (1, ValueError)])
def test_bad_network_name_is_refused(network, error):
    with pytest.raises(error, match="network: expected one of 'D', 'G'"):
        make_gan(SETUPS["plain adam"]).apply_update(network)


def test_update_flag_must_be_a_bool():
    with pytest.raises(TypeError, match="update: expected True or False, got 0"):
        make_gan(SETUPS["plain adam"]).d_step(X[:64], update=0)
