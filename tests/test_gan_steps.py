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


# -- batch norm, maxout and dropout ------------------------------------------------------
def make_layered_gan(seed=0, dropout=0.0, g_sizes=(3, 32, 17, 2), d_sizes=(2, 29, 16, 1), opt=None):
    """The papers' kind of GAN, small: a ReLU + batch-norm generator and a maxout
    discriminator (optionally dropout in both)."""
    G = gk.MLP(list(g_sizes), activation="relu", batch_norm=True, dropout=dropout)
    D = gk.MLP(list(d_sizes), activation="maxout", pieces=3, dropout=dropout)
    opt = opt or gk.Adam(lr=1e-3)
    return gk.GAN(G, D, d_optimizer=opt, g_optimizer=opt, seed=seed)


@pytest.mark.parametrize("dropout, d_batch_norm", [(0.0, False), (0.0, True), (0.3, True)])
def test_layered_steps_match_reference_trainer(dropout, d_batch_norm):
    G = gk.MLP([3, 32, 17, 2], activation="relu", batch_norm=True, dropout=dropout, output="tanh")
    D = gk.MLP([2, 29, 16, 1], activation="maxout", pieces=3, batch_norm=d_batch_norm, dropout=dropout)
    opt = gk.Adam(lr=1e-3)
    gan = gk.GAN(G, D, d_optimizer=opt, g_optimizer=opt, seed=4)
    G_ref, D_ref = ref.MLPRef.of(G), ref.MLPRef.of(D)
    trainer = ref.GANRef(G_ref, D_ref, "non_saturating", ref_optimizer(opt, D.num_params),
                         ref_optimizer(opt, G.num_params))
    rng = np.random.default_rng(0)

    def compare(step):
        for net, twin in ((gan.G, G_ref), (gan.D, D_ref)):
            # A dense bias right before batch norm has an exact gradient of 0, so float32
            # rounding noise is all Adam sees, and Adam scales any gradient to a step of
            # about lr (PyTorch behaves the same). The bias cannot change the output (the
            # norm subtracts it), so it is checked to stay within those steps instead, and
            # copied to the reference, whose running means would otherwise differ by it.
            noise_only = pre_norm_bias(net)
            np.testing.assert_allclose(net.params[~noise_only], twin.flat()[~noise_only], rtol=1e-3,
                                       atol=1e-5, err_msg=step)
            assert np.all(np.abs(net.params[noise_only]) <= 2 * opt.lr * len(trainer_steps)), step
            twin.set_flat(np.where(noise_only, net.params, twin.flat()))
            for (m, v), (m_ref, v_ref) in zip(net.get_buffers(), twin.buffers):
                np.testing.assert_allclose(m, m_ref, rtol=1e-4, atol=1e-5, err_msg=step)
                np.testing.assert_allclose(v, v_ref, rtol=1e-4, atol=1e-5, err_msg=step)
            assert net._net.dropout_state[1] == twin.dropout_counter, step

    trainer_steps = []
    for it in range(4):
        x = rng.normal(1.0, 0.5, (37, 2)).astype(np.float32)
        z = rng.standard_normal((23, 3)).astype(np.float32)
        trainer_steps.append(f"d_step {it}")
        np.testing.assert_allclose(gan.d_step(x, z), trainer.d_step(x, z), rtol=2e-4, atol=2e-5,
                                   err_msg=trainer_steps[-1])
        compare(trainer_steps[-1])
        z = rng.standard_normal((41, 3)).astype(np.float32)
        trainer_steps.append(f"g_step {it}")
        np.testing.assert_allclose(gan.g_step(z), trainer.g_step(z), rtol=2e-4, atol=2e-5,
                                   err_msg=trainer_steps[-1])
        compare(trainer_steps[-1])
    z = rng.standard_normal((10, 3)).astype(np.float32)
    np.testing.assert_allclose(gan.sample(10, z=z), G_ref.forward(z)[0], rtol=1e-3, atol=1e-5)


def pre_norm_bias(net):
    """Where in net.params the dense biases of batch-norm layers lie."""
    mask, offset = np.zeros(net.num_params, bool), 0
    for layer in net.parameters():
        w, b = layer[0], layer[1]
        if len(layer) == 4:
            mask[offset + w.size:offset + w.size + b.size] = True
        offset += sum(a.size for a in layer)
    return mask


def test_reference_segments_equal_separate_calls():
    """What d_step claims: D on [x_real; x_fake] as two segments is D(x_real) then
    D(x_fake), outputs and running statistics (PyTorch calling D twice in .train())."""
    rng = np.random.default_rng(1)
    D = gk.MLP([2, 16, 8, 1], activation="relu", batch_norm=True, seed=3)
    x_real, x_fake = rng.standard_normal((7, 2)), rng.standard_normal((5, 2))
    stacked = ref.MLPRef.of(D)
    out, _ = stacked.forward(np.concatenate([x_real, x_fake]), training=True, segments=[7, 5])
    separate = ref.MLPRef.of(D)
    out_real, _ = separate.forward(x_real, training=True)
    out_fake, _ = separate.forward(x_fake, training=True)
    np.testing.assert_allclose(out, np.concatenate([out_real, out_fake]), rtol=1e-12)
    for a, b in zip(stacked.buffers, separate.buffers):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    # And the core agrees with both.
    core = D._net.forward(np.concatenate([x_real, x_fake]), training=True, segments=[7, 5])
    np.testing.assert_allclose(core, out, rtol=1e-4, atol=1e-5)


def test_layered_gan_bitwise_identical_for_one_and_two_threads():
    runs = []
    for threads in (1, 2):
        gk.set_num_threads(threads)
        gan = make_layered_gan(seed=9, dropout=0.2, g_sizes=(64, 256, 256, 128), d_sizes=(128, 256, 128, 1))
        hist = train(gan, steps=3, batch=256)
        runs.append((hist, gan.G.params.copy(), gan.D.params.copy(), gan.G._net.buffers.copy(),
                     gan.sample(64)))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1:], runs[1][1:]):
        assert np.array_equal(a, b)


def test_layered_steady_state_steps_allocate_nothing():
    gan = make_layered_gan(dropout=0.2)
    x = np.ones((64, 2), np.float32)
    gan.d_step(x)
    gan.g_step(batch_size=64)
    gan.G(np.ones((64, 3)))  # inference at the same batch
    before = gk._core.allocation_count()
    for _ in range(20):
        gan.d_step(x)
        gan.g_step(batch_size=64)
    assert gk._core.allocation_count() == before


def test_one_row_batches_are_refused_naming_the_segment_without_changing_anything():
    gan = make_layered_gan()
    D = gk.MLP([2, 8, 1], activation="relu", batch_norm=True)
    gan_bn_d = gk.GAN(gk.MLP([3, 8, 2]), D, seed=0)
    with pytest.raises(ValueError, match=r"x_real: expected at least 2 rows, got 1: the discriminator uses "
                                         r"batch normalisation, .* segment 0 \(the real rows\)"):
        gan_bn_d.d_step(np.ones((1, 2)), z=np.ones((5, 3)))
    with pytest.raises(ValueError, match=r"z: expected at least 2 rows, got 1: .* segment 1 \(the fake rows\)"):
        gan_bn_d.d_step(np.ones((5, 2)), z=np.ones((1, 3)))
    before = (gan.G.params.copy(), gan.G._net.buffers.copy(), gan._gan.rng_state)
    with pytest.raises(ValueError, match="z: expected at least 2 rows, got 1: the generator uses batch normalisation"):
        gan.g_step(batch_size=1)
    with pytest.raises(ValueError, match="generator uses batch normalisation"):
        gan.d_step(np.ones((1, 2)))  # one fake row drawn for one real row
    assert np.array_equal(gan.G.params, before[0]) and np.array_equal(gan.G._net.buffers, before[1])
    assert gan._gan.rng_state == before[2]  # no noise was drawn
    assert gan.sample(1).shape == (1, 2)  # inference needs no batch statistics


def test_sample_and_discriminate_use_inference_mode():
    gan = make_layered_gan(dropout=0.5)
    train(gan, steps=3)
    state = (gan.G._net.buffers.copy(), gan.G._net.dropout_state, gan.D._net.dropout_state)
    z = gan.noise(50)
    x = gan.sample(50, z=z)
    np.testing.assert_array_equal(x, gan.sample(50, z=z))  # no dropout: the same twice
    np.testing.assert_array_equal(x[:7], gan.sample(7, z=z[:7]))  # running statistics: row-wise
    np.testing.assert_array_equal(gan.discriminate(x), gan.discriminate(x))
    assert np.array_equal(gan.G._net.buffers, state[0])
    assert (gan.G._net.dropout_state, gan.D._net.dropout_state) == state[1:]


def test_dropout_seeds_come_from_the_gan_seed_unless_the_network_has_one():
    a, b, c = make_layered_gan(seed=1, dropout=0.2), make_layered_gan(seed=1, dropout=0.2), \
        make_layered_gan(seed=2, dropout=0.2)
    assert a.G._net.dropout_state == b.G._net.dropout_state != c.G._net.dropout_state
    assert a.G._net.dropout_state[0] != a.D._net.dropout_state[0]
    own = gk.MLP([3, 8, 2], dropout=0.2, seed=77)
    gan = gk.GAN(own, gk.MLP([2, 8, 1]), seed=1)
    assert gan.G._net.dropout_state == (77, 0)


def test_batch_norm_maxout_gan_captures_the_ring_modes():
    """Training sanity for the papers' architecture, small: a ReLU + batch-norm generator
    against a maxout discriminator on the 8-mode ring (std 0.01 around radius 1). Before
    training no sample lies within 0.1 (10 std) of a mode centre; after 3000 iterations
    most do, spread over most modes. One thread: the result is the same at any count
    (tested above), and a loaded machine runs one thread best."""
    gk.set_num_threads(1)
    X = gk.datasets.ring(n=20_000, seed=0)
    G = gk.MLP([2, 64, 64, 2], activation="relu", batch_norm=True)
    D = gk.MLP([2, 64, 64, 1], activation="maxout", pieces=3)
    opt = gk.Adam(lr=5e-4, beta1=0.5)
    gan = gk.GAN(G, D, d_optimizer=opt, g_optimizer=opt, seed=0)
    mixture = gk.datasets.mixture("ring")
    before = gk.metrics.mode_scores(gan.sample(2500), mixture, threshold_std=10)
    assert before.high_quality_fraction < 0.05, before
    gan.fit(X, batch_size=128, max_iter=3000)
    after = gk.metrics.mode_scores(gan.sample(2500), mixture, threshold_std=10)
    assert np.sum(after.counts >= 25) >= 6, after  # modes holding at least 1% of the samples
    assert after.high_quality_fraction > 0.4, after
