"""Generator averaging (Yazici et al., ICLR 2019): the exponential moving average of G
kept in C++, against a float64 reference; sample(); validation; determinism."""
import numpy as np
import pytest

import gankit as gk
import reference as ref


def averaged_gan(ema=0.9, seed=0, batch_norm=False, pack=1):
    G = gk.MLP([3, 21, 2], activation="relu", batch_norm=batch_norm)
    D = gk.MLP([2 * pack, 17, 1])
    return gk.GAN(G, D, ema=ema, seed=seed, pack=pack, g_optimizer=gk.Adam(lr=5e-3))


def test_average_follows_the_reference_through_training():
    gan = averaged_gan(ema=0.95, seed=4)
    assert np.array_equal(gan.average_params, gan.G.params)  # starts at G's weights
    average = ref.AverageRef(gan.G.params, 0.95)
    rng = np.random.default_rng(2)
    for t in range(1, 41):
        gan.d_step(rng.normal(size=(16, 2)).astype(np.float32))
        gan.g_step(batch_size=16)
        average.update(gan.G.params, t)
        np.testing.assert_allclose(gan.average_params, average.avg, rtol=1e-5, atol=1e-6, err_msg=f"step {t}")
    # Past the warm-up the average lags G: it is not G.
    assert not np.allclose(gan.average_params, gan.G.params, atol=1e-4)


def test_d_steps_leave_the_average_alone():
    gan = averaged_gan()
    before = gan.average_params.copy()
    gan.d_step(np.ones((8, 2), np.float32))
    assert np.array_equal(gan.average_params, before)


def test_sample_uses_the_average_unless_asked_for_g():
    gan = averaged_gan(ema=0.5)
    for _ in range(30):
        gan.d_step(np.ones((8, 2), np.float32))
        gan.g_step(batch_size=8)
    z = np.random.default_rng(0).standard_normal((64, 3)).astype(np.float32)
    average_net = gk.MLP([3, 21, 2], activation="relu")
    average_net.params[...] = gan.average_params
    np.testing.assert_array_equal(gan.sample(64, z=z), average_net.forward(z))
    np.testing.assert_array_equal(gan.sample(64, z=z, averaged=False), gan.G.forward(z))
    assert not np.array_equal(gan.sample(64, z=z), gan.sample(64, z=z, averaged=False))
    with pytest.raises(TypeError, match="averaged: expected True or False"):
        gan.sample(4, averaged="yes")


def test_batch_norm_statistics_are_averaged_too():
    gan = averaged_gan(ema=0.9, batch_norm=True)
    buffers = np.concatenate([np.concatenate(pair) for pair in gan.G.get_buffers()])
    average = ref.AverageRef(buffers, 0.9)
    rng = np.random.default_rng(5)
    for t in range(1, 11):
        gan.d_step(rng.normal(size=(16, 2)).astype(np.float32))
        gan.g_step(batch_size=16)
        buffers = np.concatenate([np.concatenate(pair) for pair in gan.G.get_buffers()])
        average.update(buffers, t)
    np.testing.assert_allclose(gan._gan.average_buffers, average.avg, rtol=1e-5, atol=1e-6)


def test_without_ema_there_is_no_average():
    gan = gk.GAN(gk.MLP([2, 8, 2]), gk.MLP([2, 8, 1]))
    assert gan.ema is None and gan.average_params.size == 0
    z = np.zeros((3, 2), np.float32)
    np.testing.assert_array_equal(gan.sample(3, z=z), gan.sample(3, z=z, averaged=False))
    assert gk.GAN(gk.MLP([2, 8, 2]), gk.MLP([2, 8, 1]), ema=0).ema is None


@pytest.mark.parametrize("bad,error,match", [
    (1.0, ValueError, "ema: expected 0 <= ema < 1"),
    (1.5, ValueError, "ema: expected 0 <= ema < 1"),
    (-0.1, ValueError, "ema: expected 0 <= ema < 1"),
    (float("nan"), ValueError, "ema: expected a finite number"),
    (0.99999999999, ValueError, "float32 rounds to 1.0"),
    ("0.999", TypeError, "ema: expected a real number"),
    (True, TypeError, "ema: expected a real number"),
])
def test_bad_ema_values_are_refused(bad, error, match):
    with pytest.raises(error, match=match):
        gk.GAN(gk.MLP([2, 8, 2]), gk.MLP([2, 8, 1]), ema=bad)


def test_averaged_training_is_bitwise_identical_for_one_and_two_threads():
    X = gk.datasets.grid(n=3000, seed=0)
    results = []
    for threads in (1, 2):
        gk.set_num_threads(threads)
        G = gk.MLP([2, 300, 300, 2], batch_norm=True, activation="relu")
        gan = gk.GAN(G, gk.MLP([2, 64, 1]), ema=0.999, seed=1)
        gan.fit(X, batch_size=256, max_iter=3)
        results.append((gan.average_params.copy(), gan._gan.average_buffers.copy()))
    for a, b in zip(*results):
        assert np.array_equal(a, b)
