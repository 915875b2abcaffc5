"""precision="bf16": the dense layers' products on bfloat16 operands with float32 sums.

Against the float64 reference whose products round the same operands to bf16 (an
independent NumPy rounding), bitwise reproducible at any thread count, checkpointed and
resumed bitwise, refused clearly where the CPU cannot run it, and training the ring as
well as float32 does."""
import numpy as np
import pytest

import gankit as gk
import reference as ref
from test_checkpoints import assert_same_state, straight_and_resumed
from test_gan_steps import ref_optimizer

BF16 = gk._core.gemm_bf16_kernel()
needs_bf16 = pytest.mark.skipif(not BF16, reason="this CPU has no bf16 kernel (no AVX512-BF16)")


def relative_error(got, expected):
    expected = np.asarray(expected, np.float64)
    return float(np.max(np.abs(got - expected)) / (np.max(np.abs(expected)) + 1e-30))


@needs_bf16
@pytest.mark.parametrize("sizes", [[3, 37, 17, 1], [7, 64, 5, 2], [1, 13, 129, 31]])
def test_mlp_forward_and_backward_match_the_bf16_reference(sizes, rng):
    """Layers wider than 4 round their operands; the 1- and 2-wide last layers stay fp32.
    Against the bf16 reference the only differences are float32 sums and an operand now
    and then rounding the other way from a float32 input the reference has in float64
    (seen: 1e-7 to 4e-6 of the largest element). Against the float32 reference the
    rounding itself shows (3e-3 to 2e-2)."""
    net = gk.MLP(sizes, activation="leaky_relu", seed=3, precision="bf16")
    x = rng.standard_normal((53, sizes[0])).astype(np.float32)
    d_out = rng.standard_normal((53, sizes[-1])).astype(np.float32)
    y = net.forward(x)
    d_x = net._net.forward_backward(x, d_out)
    reference = ref.MLPRef.of(net)
    assert reference.precision == "bf16"
    y_ref, cache = reference.forward(x)
    grads_ref, d_x_ref = reference.backward(cache, d_out)
    assert relative_error(y, y_ref) < 1e-4
    assert relative_error(d_x, d_x_ref) < 1e-4
    assert relative_error(net.grads, ref.flatten_grads(grads_ref)) < 1e-4
    fp32 = ref.MLPRef(net.get_weights(), "leaky_relu", None)
    assert relative_error(y, fp32.forward(x)[0]) > 100 * relative_error(y, y_ref)


@needs_bf16
def test_gan_steps_match_the_bf16_reference_trainer(rng):
    opt = gk.Adam(lr=1e-3)
    G = gk.MLP([3, 32, 17, 2], output="tanh")
    D = gk.MLP([4, 29, 16, 1])
    gan = gk.GAN(G, D, d_optimizer=opt, g_optimizer=opt, seed=11, pack=2, precision="bf16")
    assert G.precision == D.precision == "bf16"
    G_ref, D_ref = ref.MLPRef.of(G), ref.MLPRef.of(D)
    trainer = ref.GANRef(G_ref, D_ref, "non_saturating", ref_optimizer(opt, D.num_params),
                         ref_optimizer(opt, G.num_params), pack=2)
    for it in range(4):
        x = rng.normal(1.0, 0.5, (38, 2)).astype(np.float32)
        z = rng.standard_normal((22, 3)).astype(np.float32)
        np.testing.assert_allclose(gan.d_step(x, z), trainer.d_step(x, z), rtol=1e-2, atol=1e-3,
                                   err_msg=f"d_step {it}")
        z = rng.standard_normal((40, 3)).astype(np.float32)
        np.testing.assert_allclose(gan.g_step(z), trainer.g_step(z), rtol=1e-2, atol=1e-3,
                                   err_msg=f"g_step {it}")
        # Adam moves each weight by about lr per step whatever the gradient's size, so
        # the parameters agree to a fraction of lr.
        np.testing.assert_allclose(gan.D.params, D_ref.flat(), atol=2e-4)
        np.testing.assert_allclose(gan.G.params, G_ref.flat(), atol=2e-4)


def ring_gan(precision, seed=0):
    G = gk.MLP([2, 128, 128, 2], activation="relu", precision=precision)
    D = gk.MLP([2, 128, 128, 1], activation="leaky_relu", precision=precision)
    opt = gk.Adam(lr=1e-3, beta1=0.5)
    return gk.GAN(G, D, d_optimizer=opt, g_optimizer=opt, seed=seed, ema=0.999)


@needs_bf16
def test_bf16_runs_are_bitwise_the_same_at_one_and_two_threads():
    data = gk.datasets.ring(n=4000, seed=0)
    histories, params = [], []
    for threads in (1, 2):
        gk.set_num_threads(threads)
        gan = ring_gan("bf16", seed=2)
        histories.append(gan.fit(data, batch_size=256, max_iter=15)["g_loss"])
        params.append(gan.G.params.copy())
    np.testing.assert_array_equal(histories[0], histories[1])
    np.testing.assert_array_equal(params[0], params[1])


@needs_bf16
def test_bf16_checkpoints_round_trip_and_resume_bitwise(tmp_path):
    data = gk.datasets.ring(n=3000, seed=0)
    gan = ring_gan("bf16", seed=4)
    gan.fit(data, batch_size=64, max_iter=10)
    gan.save(tmp_path / "m.gk")
    loaded = gk.GAN.load(tmp_path / "m.gk")
    assert loaded.G.precision == loaded.D.precision == "bf16"
    assert_same_state(gan, loaded)
    z = np.random.default_rng(0).standard_normal((30, 2)).astype(np.float32)
    np.testing.assert_array_equal(gan.sample(30, z=z), loaded.sample(30, z=z))

    straight, resumed, hist = straight_and_resumed(lambda seed: ring_gan("bf16", seed), data,
                                                   tmp_path / "run.gk", max_iter=40, crash_at=27,
                                                   checkpoint_every=10)
    assert len(hist) == 40
    assert_same_state(straight, resumed)


@needs_bf16
def test_resume_refuses_another_precision(tmp_path):
    data = gk.datasets.ring(n=2000, seed=0)
    ring_gan("bf16").fit(data, batch_size=64, max_iter=3, checkpoint=tmp_path / "c.gk")
    with pytest.raises(ValueError, match="precision is 'bf16', but this GAN.s is 'fp32'"):
        ring_gan("fp32").fit(data, batch_size=64, max_iter=5, resume=tmp_path / "c.gk")


@needs_bf16
def test_bf16_trains_the_ring_as_well_as_fp32():
    """The ring's recipe, shortened (batch 256, 2500 iterations, linear decay, averaging),
    at both precisions from the same seed: bf16 must cover as many modes, as sharply,
    on fresh samples. One thread: a loaded machine runs one thread best, and the result
    is the same at any count."""
    gk.set_num_threads(1)
    mixture = gk.datasets.mixture("ring")
    data = gk.datasets.ring(n=50_000, seed=0)
    scores = {}
    for precision in ("fp32", "bf16"):
        G = gk.MLP([2, 128, 128, 2], activation="relu", precision=precision)
        D = gk.MLP([2, 128, 128, 1], activation="leaky_relu", precision=precision)
        opt = gk.Adam(lr=1e-3, beta1=0.5, schedule="linear", schedule_steps=2500)
        gan = gk.GAN(G, D, d_optimizer=opt, g_optimizer=opt, seed=0, ema=0.999)
        gan.fit(data, batch_size=256, max_iter=2500)
        scores[precision] = gk.metrics.mode_scores(gan.sample(2500), mixture)
    fp32, bf16 = scores["fp32"], scores["bf16"]
    assert bf16.modes_captured >= min(fp32.modes_captured, 8) - 1 and bf16.modes_captured >= 7, scores
    assert bf16.high_quality_fraction >= fp32.high_quality_fraction - 0.1, scores
    assert bf16.reverse_kl <= fp32.reverse_kl + 0.1, scores


def test_precision_is_validated_and_kept_in_the_config():
    with pytest.raises(ValueError, match=r"precision: expected one of 'fp32', 'bf16', got 'fp16'"):
        gk.MLP([2, 8, 1], precision="fp16")
    with pytest.raises(ValueError, match=r"precision: expected one of 'fp32', 'bf16', got 16"):
        gk.GAN(gk.MLP([2, 8, 2]), gk.MLP([2, 8, 1]), precision=16)
    net = gk.MLP([2, 8, 1])
    assert net.precision == "fp32" and net.config()["precision"] == "fp32"
    assert "precision" not in repr(net)
    assert gk.build_info()["bf16_kernel"] == (BF16 or None)


@pytest.mark.skipif(bool(BF16), reason="this CPU has a bf16 kernel")
def test_bf16_where_the_cpu_cannot_is_a_clear_error():
    with pytest.raises(ValueError, match="AVX512-BF16"):
        gk.MLP([2, 8, 1], precision="bf16")
    with pytest.raises(ValueError, match="AVX512-BF16"):
        gk.GAN(gk.MLP([2, 8, 2]), gk.MLP([2, 8, 1]), precision="bf16")
