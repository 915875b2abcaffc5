"""d_step / g_step against the float64 reference trainer, reproducibility and thread
determinism, and the zero-allocation steady state."""
import numpy as np
import pytest

import gankit as gk
import reference as ref


def make_gan(g_loss="non_saturating", opt=None, seed=0, sizes_g=(3, 32, 17, 2), sizes_d=(2, 29, 16, 1),
             out="tanh"):
    G = gk.MLP(list(sizes_g), activation="leaky_relu", output=out)
    D = gk.MLP(list(sizes_d), activation="leaky_relu")
    opt = opt or gk.Adam(lr=1e-3, beta1=0.5, beta2=0.999)
    return gk.GAN(G, D, g_loss=g_loss, d_optimizer=opt, g_optimizer=opt, seed=seed)


def ref_optimizer(opt, n):
    if isinstance(opt, gk.Adam):
        return ref.AdamRef(n, opt.lr, opt.beta1, opt.beta2, opt.eps, opt.weight_decay)
    return ref.SGDRef(n, opt.lr, opt.momentum, opt.weight_decay)


@pytest.mark.parametrize("g_loss", ["non_saturating", "minimax"])
@pytest.mark.parametrize("opt", [gk.Adam(lr=1e-3), gk.SGD(lr=0.05, momentum=0.9)])
def test_steps_match_reference_trainer(g_loss, opt):
    gan = make_gan(g_loss, opt, seed=11)
    G = ref.MLPRef(gan.G.get_weights(), "leaky_relu", "tanh")
    D = ref.MLPRef(gan.D.get_weights(), "leaky_relu", None)
    trainer = ref.GANRef(G, D, g_loss, ref_optimizer(opt, gan.D.num_params),
                         ref_optimizer(opt, gan.G.num_params))
    rng = np.random.default_rng(0)
    for it in range(6):
        for _ in range(2):  # k = 2 discriminator steps
            x = rng.normal(1.0, 0.5, (37, 2)).astype(np.float32)
            z = rng.standard_normal((23, 3)).astype(np.float32)
            out = gan.d_step(x, z)
            expected = trainer.d_step(x, z)
            np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5, err_msg=f"d_step {it}")
        z = rng.standard_normal((41, 3)).astype(np.float32)
        out = gan.g_step(z)
        np.testing.assert_allclose(out, trainer.g_step(z), rtol=1e-4, atol=1e-5, err_msg=f"g_step {it}")
        np.testing.assert_allclose(gan.D.params, D.flat(), rtol=1e-3, atol=1e-5)
        np.testing.assert_allclose(gan.G.params, G.flat(), rtol=1e-3, atol=1e-5)


def train(gan, steps=5, batch=64):
    history = []
    for _ in range(steps):
        x = np.tile(np.linspace(-0.5, 0.5, gan.data_dim, dtype=np.float32), (batch, 1))
        history.append(gan.d_step(x))
        history.append(gan.g_step(batch_size=batch))
    return history


def test_same_seed_gives_bitwise_same_run_and_other_seed_differs():
    a, b, c = make_gan(seed=3), make_gan(seed=3), make_gan(seed=4)
    ha, hb, hc = train(a), train(b), train(c)
    assert ha == hb
    assert np.array_equal(a.G.params, b.G.params) and np.array_equal(a.D.params, b.D.params)
    assert np.array_equal(a.sample(10), b.sample(10))
    assert ha != hc


def test_bitwise_identical_for_one_and_two_threads():
    big = dict(sizes_g=(64, 256, 256, 128), sizes_d=(128, 256, 128, 1))
    runs = []
    for threads in (1, 2):
        gk.set_num_threads(threads)
        gan = make_gan(seed=9, **big)
        hist = train(gan, steps=3, batch=256)
        runs.append((hist, gan.G.params.copy(), gan.D.params.copy()))
    assert runs[0][0] == runs[1][0]
    assert np.array_equal(runs[0][1], runs[1][1]) and np.array_equal(runs[0][2], runs[1][2])


def test_gan_seed_initialises_unseeded_networks_only():
    seeded = gk.MLP([2, 8, 2], seed=123)
    before = seeded.params.copy()
    gan = gk.GAN(seeded, gk.MLP([2, 8, 1]), seed=0)
    np.testing.assert_array_equal(gan.G.params, before)
    g1, g2 = gk.GAN(gk.MLP([2, 8, 2]), gk.MLP([2, 8, 1]), seed=1), gk.GAN(gk.MLP([2, 8, 2]), gk.MLP([2, 8, 1]), seed=2)
    assert not np.array_equal(g1.G.params, g2.G.params)


def test_d_step_updates_only_d_and_g_step_only_g():
    gan = make_gan()
    g0, d0 = gan.G.params.copy(), gan.D.params.copy()
    gan.d_step(np.ones((8, 2), np.float32))
    assert np.array_equal(gan.G.params, g0) and not np.array_equal(gan.D.params, d0)
    d1 = gan.D.params.copy()
    gan.g_step(batch_size=8)
    assert np.array_equal(gan.D.params, d1) and not np.array_equal(gan.G.params, g0)


def test_steady_state_steps_allocate_nothing():
    gan = make_gan()
    x = np.ones((64, 2), np.float32)
    gan.d_step(x)
    gan.g_step(batch_size=64)
    before = gk._core.allocation_count()
    for _ in range(20):
        gan.d_step(x)
        gan.g_step(batch_size=64)
    assert gk._core.allocation_count() == before


def test_sample_and_discriminate_shapes():
    gan = make_gan()
    x = gan.sample(1000)
    assert x.dtype == np.float32 and x.shape == (1000, 2)
    assert np.all(np.abs(x) <= 1)  # tanh output
    p = gan.discriminate(x)
    assert p.dtype == np.float32 and p.shape == (1000,) and np.all((p >= 0) & (p <= 1))
    z = gan.noise(5)
    assert z.shape == (5, 3)
    np.testing.assert_array_equal(gan.sample(5, z=z), gan.G(z))


def test_uniform_noise_is_in_range():
    gan = gk.GAN(gk.MLP([4, 8, 2]), gk.MLP([2, 8, 1]), noise="uniform", seed=0)
    z = gan.noise(5000)
    assert z.min() >= -1 and z.max() < 1 and abs(z.mean()) < 0.03


@pytest.mark.parametrize("call, error, match", [
    (lambda g: g.d_step(np.ones((4, 3))), ValueError, r"x_real: expected a 2-D array of shape \(n, 2\)"),
    (lambda g: g.d_step(np.ones((4, 2)), z=np.ones((4, 2))), ValueError, r"z: expected a 2-D array of shape \(n, 3\)"),
    (lambda g: g.d_step(np.ones((4, 2), np.int32)), TypeError, "x_real: expected a float32 or float64 array"),
    (lambda g: g.d_step(np.full((4, 2), np.inf)), ValueError, "x_real: expected finite"),
    (lambda g: g.g_step(), ValueError, "expected noise z or a batch_size"),
    (lambda g: g.g_step(batch_size=0), ValueError, "batch_size"),
    (lambda g: g.sample(0), ValueError, "n: expected an integer >= 1"),
    (lambda g: g.sample(2.5), TypeError, "n: expected an integer"),
    (lambda g: g.discriminate(np.ones(2)), ValueError, r"x: expected a 2-D array"),
])
def test_step_arguments_are_validated(call, error, match):
    with pytest.raises(error, match=match):
        call(make_gan())


@pytest.mark.parametrize("kwargs, error, match", [
    ({"g_loss": "wgan"}, ValueError, "g_loss: expected one of"),
    ({"noise": "cauchy"}, ValueError, "noise: expected one of"),
    ({"noise_dim": 4}, ValueError, "noise_dim: expected the generator's input size 3"),
    ({"d_optimizer": "adam"}, TypeError, "d_optimizer"),
    ({"seed": -3}, ValueError, "seed"),
])
def test_gan_constructor_validates(kwargs, error, match):
    G, D = gk.MLP([3, 8, 2]), gk.MLP([2, 8, 1])
    with pytest.raises(error, match=match):
        gk.GAN(G, D, **kwargs)


def test_gan_rejects_incompatible_networks():
    with pytest.raises(ValueError, match="output size 3 must equal the discriminator's input size 2"):
        gk.GAN(gk.MLP([2, 3]), gk.MLP([2, 1]))
    with pytest.raises(ValueError, match="one output"):
        gk.GAN(gk.MLP([2, 2]), gk.MLP([2, 2]))
    net = gk.MLP([2, 2])
    with pytest.raises(ValueError, match="two different networks"):
        gk.GAN(net, net)
    with pytest.raises(TypeError, match="G: expected a gankit.MLP"):
        gk.GAN("G", gk.MLP([2, 1]))
