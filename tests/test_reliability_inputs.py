"""Bad input at every public entry point: each refusal is a TypeError or ValueError that
names the argument and what was given, leaves the objects it was given unchanged, and
never crashes the interpreter (the tests that could run in a forked child). Unusual but
valid arrays (non-contiguous, read-only, float16/float64, nested lists) give the same
result as a plain float32 array. Random garbage, drawn by hypothesis, at every entry
point raises only the documented exceptions, and a GAN that received it behaves
afterwards exactly like an untouched twin."""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import gankit as gk
from gankit import _core, cli, datasets, metrics
from gankit import file_format as container
from reliability_support import isolated, record_count, scaled, state_of

# The exceptions the API documents for bad input (CheckpointError is a ValueError).
DOCUMENTED = (TypeError, ValueError, gk.ConcurrentUseError)
DATA = datasets.ring(n=64, seed=0)
MIX = datasets.ring_mixture()


def make_gan(seed=0):
    return gk.GAN(gk.MLP([2, 8, 2]), gk.MLP([2, 8, 1]), seed=seed,
                  d_optimizer=gk.Adam(lr=1e-3), g_optimizer=gk.SGD(lr=1e-2, momentum=0.5))


def assert_refused(call, error, *fragments):
    """call() raises `error`, a message containing every fragment (case-insensitive;
    a tuple fragment is satisfied by any of its alternatives)."""
    with pytest.raises(error) as info:
        call()
    message = str(info.value).lower()
    for fragment in fragments:
        options = fragment if isinstance(fragment, tuple) else (fragment,)
        assert any(str(o).lower() in message for o in options), \
            f"{fragments!r} not all in the message {str(info.value)!r}"
    return info.value


# -- array arguments ----------------------------------------------------------------------
def bad_arrays(features):
    """(label, value, error, what the message must show as given) for an argument that
    takes a float (n, features) array."""
    good = np.ones((4, features), np.float32)
    nan, inf, big = good.copy(), good.copy(), good.astype(np.float64)
    nan[1, 0], inf[2, -1], big[3, 0] = np.nan, -np.inf, 1e39
    return [
        ("object dtype", good.astype(object), TypeError, "object"),
        ("int dtype", good.astype(np.int64), TypeError, "int64"),
        ("complex dtype", good.astype(np.complex128), TypeError, "complex"),
        ("bool dtype", good.astype(bool), TypeError, "bool"),
        ("string", "not an array", TypeError, ("<u12", "str", "dtype")),
        ("None", None, TypeError, ("object", "none")),
        ("1-D", np.ones(features), ValueError, f"({features},)"),
        ("3-D", np.ones((2, 2, features)), ValueError, f"(2, 2, {features})"),
        ("wrong feature count", np.ones((4, features + 1)), ValueError, f"{features + 1}"),
        ("empty", np.ones((0, features)), ValueError, f"(0, {features})"),
        ("NaN", nan, ValueError, "nan"),
        ("Inf", inf, ValueError, ("inf", "infinite")),
        ("beyond float32", big, ValueError, ("float32", "inf")),
    ]


def array_entry_points(gan):
    """(label, call(array), argument name, features) for every array argument of the
    GAN and MLP API that takes float (n, features) data."""
    return [
        ("GAN.d_step", lambda a: gan.d_step(a), "x_real", 2),
        ("GAN.d_step z", lambda a: gan.d_step(DATA[:4], a), "z", 2),
        ("GAN.g_step z", lambda a: gan.g_step(a), "z", 2),
        ("GAN.sample z", lambda a: gan.sample(3, z=a), "z", 2),
        ("GAN.discriminate", lambda a: gan.discriminate(a), "x", 2),
        ("GAN.fit", lambda a: gan.fit(a, batch_size=2, max_iter=1), "X", 2),
        ("MLP.forward G", lambda a: gan.G.forward(a), "x", 2),
        ("MLP.__call__ D", lambda a: gan.D(a), "x", 2),
    ]


# z=None (bad array 5 at the z arguments, entries 1-3) is valid: the GAN draws the noise.
ARRAY_CASES = [(entry, bad) for entry in range(8) for bad in range(13) if not (bad == 5 and entry in (1, 2, 3))]


@pytest.mark.parametrize("entry, bad", ARRAY_CASES)
def test_bad_arrays_are_refused_naming_the_argument_and_change_nothing(entry, bad):
    gan = make_gan()
    gan.fit(DATA, batch_size=8, max_iter=2)  # a GAN with optimizer state and history
    label, call, name, features = array_entry_points(gan)[entry]
    what, value, error, given = bad_arrays(features)[bad]
    before = state_of(gan)
    assert_refused(lambda: call(value), error, name, given)
    assert state_of(gan) == before, f"{label} changed the GAN while refusing {what}"


def odd_layouts(x):
    """Valid arrays equal to x (float32 (n, k)) in unusual forms."""
    read_only = x.copy()
    read_only.setflags(write=False)
    wide = np.zeros((x.shape[0], 2 * x.shape[1]), np.float32)
    wide[:, ::2] = x
    return {
        "Fortran order": np.asfortranarray(x),
        "strided view": wide[:, ::2],
        "negative strides": x[::-1][::-1],
        "read-only": read_only,
        "float64": x.astype(np.float64),
        "float16-exact": x.astype(np.float16).astype(np.float32),  # the reference below
        "nested lists": x.tolist(),
        "big-endian": x.astype(">f4"),
    }


@pytest.mark.parametrize("layout", ["Fortran order", "strided view", "negative strides", "read-only",
                                    "float64", "nested lists", "big-endian"])
def test_unusual_but_valid_arrays_give_the_same_results(layout):
    x = DATA[:16]
    z = make_gan().noise(16)
    odd_x, odd_z = odd_layouts(x)[layout], odd_layouts(z)[layout]
    plain, odd = make_gan(), make_gan()
    assert plain.d_step(x) == odd.d_step(odd_x)
    assert plain.d_step(x, z) == odd.d_step(odd_x, odd_z)
    assert plain.g_step(z) == odd.g_step(odd_z)
    np.testing.assert_array_equal(plain.sample(16, z=z), odd.sample(16, z=odd_z))
    np.testing.assert_array_equal(plain.discriminate(x), odd.discriminate(odd_x))
    np.testing.assert_array_equal(plain.G(z), odd.G(odd_z))
    plain.fit(DATA, batch_size=8, max_iter=3)
    odd.fit(odd_layouts(DATA)[layout], batch_size=8, max_iter=3)
    assert state_of(plain) == state_of(odd)
    if layout == "read-only":
        assert not odd_x.flags.writeable  # read, never written


def test_float16_input_is_converted_exactly():
    x16 = DATA[:16].astype(np.float16)
    a, b = make_gan(), make_gan()
    assert a.d_step(x16) == b.d_step(x16.astype(np.float32))
    assert state_of(a) == state_of(b)


def test_set_weights_refuses_bad_lists_and_leaves_the_network_unchanged():
    net = gk.MLP([2, 3, 1], seed=1)
    before = net.params.copy()
    good = net.get_weights()
    cases = [
        ("not a list", 3, ValueError, ("weights", "int")),
        ("too few layers", good[:1], ValueError, ("weights", "1 entries")),
        ("not a pair", [good[0], (good[1][0],)], ValueError, ("weights[1]",)),
        ("ragged W", [([[1.0], [1.0, 2.0]], good[0][1]), good[1]], ValueError, ("weights[0][0]",)),
        ("object W", [(good[0][0].astype(object), good[0][1]), good[1]], TypeError, ("weights[0][0]", "object")),
        ("int b", [good[0], (good[1][0], np.zeros(1, int))], TypeError, ("weights[1][1]", "int")),
        ("wrong shape", [(good[0][0].T, good[0][1]), good[1]], ValueError, ("weights[0][0]", "(3, 2)")),
        ("NaN in the last layer", [good[0], (good[1][0] * np.nan, good[1][1])], ValueError, ("weights[1][0]", "nan")),
        ("beyond float32", [good[0], (good[1][0].astype(np.float64) + 1e39, good[1][1])], ValueError, ("weights[1][0]", "float32")),
    ]
    for what, value, error, fragments in cases:
        assert_refused(lambda: net.set_weights(value), error, *fragments)
        np.testing.assert_array_equal(net.params, before, err_msg=what)


# -- the kernels of gankit._core that tests and benchmarks call ---------------------------
def test_core_kernels_refuse_bad_arrays():
    x, w, b = np.ones((3, 4), np.float32), np.ones((4, 5), np.float32), np.zeros(5, np.float32)
    checks = [
        (lambda: _core.matmul(x.astype(int), w), TypeError, ("a", "int64")),
        (lambda: _core.matmul(x, w.astype(complex)), TypeError, ("b", "complex")),
        (lambda: _core.matmul(x, np.ones((3, 5))), ValueError, ("inner dimensions",)),
        (lambda: _core.matmul(np.ones((0, 4)), w), ValueError, ("a", "(0, 4)")),
        (lambda: _core.dense_forward(x, w, np.zeros(4)), ValueError, ("b", "(4,)")),
        (lambda: _core.dense_forward(x, w, b, "gelu"), ValueError, ("activation", "gelu")),
        (lambda: _core.dense_forward(x, w, b, "leaky_relu", float("nan")), ValueError, ("slope", "nan")),
        (lambda: _core.dense_backward(x, w, np.ones((2, 5)), np.ones((3, 5))), ValueError, ("y and d_y",)),
        (lambda: _core.activation_forward(x, "relu"), ValueError, ("x", "(3, 4)")),
        (lambda: _core.activation_backward(b, np.ones(4), "tanh"), ValueError, ("d_y", "(4,)")),
        (lambda: _core.discriminator_loss(np.array([np.inf]), b), ValueError, ("logits_real", "inf")),
        (lambda: _core.generator_loss(b, "wgan"), ValueError, ("g_loss", "wgan")),
        (lambda: _core.Rng(0).normal(0), ValueError, ("n", "0")),
        (lambda: _core.Rng(0).normal(_core.MAX_ROWS + 1), ValueError, ("n", str(_core.MAX_ROWS + 1))),
        (lambda: _core.Rng(0).uniform(3, -np.inf, np.inf), ValueError, ("low, high",)),
        (lambda: _core.Mlp([2, 0]), ValueError, ("sizes[1]", "0")),
        (lambda: _core.Mlp([_core.MAX_WIDTH] * 3), ValueError, ("sizes", "parameters")),
        (lambda: _core.Mlp([_core.MAX_WIDTH] * 40000), ValueError, ("sizes", "parameters")),  # would overflow int64
        (lambda: _core.set_num_threads(0), ValueError, ("n", "0")),
        (lambda: _core.set_num_threads(_core.MAX_THREADS + 1), ValueError, ("n", str(_core.MAX_THREADS + 1))),
        (lambda: _core.select_gemm_kernel("nope"), ValueError, ("nope",)),
        (lambda: _core.fma_peak_gflops(-1.0), ValueError, ("seconds",)),
        (lambda: _core.barrier_cost_us(1), ValueError, ("threads", "1")),
        (lambda: _core.barrier_cost_us(2, 0), ValueError, ("barriers", "0")),
    ]
    for call, error, fragments in checks:
        assert_refused(call, error, *fragments)


@pytest.mark.parametrize("label, make, error, given", [
    ("read-only", lambda: np.zeros(6, np.float32), ValueError, "read-only"),
    ("strided", lambda: np.zeros(12, np.float32)[::2], ValueError, "strided"),
    ("float64", lambda: np.zeros(6), TypeError, "float64"),
    ("a list", lambda: [0.0] * 6, TypeError, "list"),
    ("wrong size", lambda: np.zeros(5, np.float32), ValueError, "(5,)"),
    ("empty", lambda: np.zeros(0, np.float32), ValueError, "(0,)"),
])
@pytest.mark.parametrize("slot", ["params", "velocity", "m", "v"])
def test_in_place_arguments_are_never_silently_copied(label, make, error, given, slot):
    """Optimizer steps update params/velocity/m/v in place: a buffer that would need a
    copy is refused (the update would be lost), and nothing is written anywhere. (A
    params of another size is the size the others are checked against: it makes grads
    the wrong one.)"""
    bad = make()
    if label == "read-only":
        bad.setflags(write=False)
    bad_before = np.array(bad, copy=True)
    p, m, v, velocity = (np.zeros(6, np.float32) for _ in range(4))
    grads = np.ones(6)
    if slot == "params" and label == "wrong size":
        slot, given = "grads", "(6,)"
    calls = {
        "grads": lambda: _core.sgd_step(bad, grads, None, lr=0.1),
        "params": lambda: _core.sgd_step(bad, grads, None, lr=0.1),
        "velocity": lambda: _core.sgd_step(p, grads, bad, lr=0.1, momentum=0.9),
        "m": lambda: _core.adam_step(p, grads, bad, v, 1, 0.1),
        "v": lambda: _core.adam_step(p, grads, m, bad, 1, 0.1),
    }
    assert_refused(calls[slot], error, slot, given)
    for buffer in (p, m, v, velocity):
        assert not np.any(buffer)
    np.testing.assert_array_equal(np.asarray(bad), bad_before)


# -- scalar arguments ---------------------------------------------------------------------
COUNTS = [(0, ValueError), (-1, ValueError), (2.5, TypeError), ("3", TypeError), (None, TypeError),
          (True, TypeError), (float("nan"), TypeError), (np.float64(3.0), TypeError)]
# Beyond the core's limits: refused where a count sizes an allocation (rows, layer sizes,
# threads); iteration counts, k and windows have no upper limit (a large one is slow, not wrong).
HUGE_COUNTS = [(_core.MAX_ROWS + 1, ValueError), (2**63, ValueError), (10**30, ValueError)]
REALS = [(float("nan"), ValueError), (float("inf"), ValueError), ("0.1", TypeError),
         (None, TypeError), (True, TypeError), (1 + 0j, TypeError), ([0.1], TypeError)]
NAMES = [("nope", ValueError), (None, ValueError), (3, ValueError), (b"relu", ValueError),
         ("", ValueError), (["relu"], ValueError)]


def count_entry_points(gan):
    """(name, call(value), whether huge values are refused) for every argument that is
    a count: sizes, batch sizes, k, iteration counts, windows, thread counts. (g_step's
    batch_size=None means "not given", as does GAN's noise_dim=None.)"""
    fit = lambda **kw: gan.fit(DATA, **{"batch_size": 8, "max_iter": 1, **kw})  # noqa: E731
    return [
        ("batch_size", lambda v: gan.g_step(batch_size=v), "capped, None means absent"),
        ("n", lambda v: gan.sample(v), True),
        ("n", lambda v: gan.noise(v), True),
        ("batch_size", lambda v: fit(batch_size=v), True),
        ("d_steps", lambda v: fit(d_steps=v), False),
        ("max_iter", lambda v: fit(max_iter=v), False),
        ("window", lambda v: fit(window=v), False),
        ("checkpoint_every", lambda v: fit(checkpoint_every=v), False),
        ("noise_dim", lambda v: gk.GAN(gk.MLP([2, 2]), gk.MLP([2, 1]), noise_dim=v),
         "capped, None means absent"),
        ("sizes[1]", lambda v: gk.MLP([2, v]), True),
        ("n", lambda v: gk.set_num_threads(v), True),
        ("n", lambda v: datasets.ring(n=v), True),
        ("modes", lambda v: datasets.ring(n=4, modes=v), True),
        ("side", lambda v: datasets.grid(n=4, side=v), True),
        ("n", lambda v: MIX.sample(v), True),
        ("window", lambda v: gan.history.last("d_loss", v), False),
        ("n", lambda v: gan.history.truncate(v if v != 0 else -1), False),
    ]


def real_entry_points(gan):
    """(name, call(value), whether None means "off" and is valid) for every real-valued
    argument: learning rates, betas, eps, decay, momentum, slope, stop thresholds,
    dataset geometry, metric settings."""
    fit = lambda **kw: gan.fit(DATA, **{"batch_size": 8, "max_iter": 1, **kw})  # noqa: E731
    return [
        ("lr", lambda v: gk.Adam(lr=v), False), ("beta1", lambda v: gk.Adam(beta1=v), False),
        ("beta2", lambda v: gk.Adam(beta2=v), False), ("eps", lambda v: gk.Adam(eps=v), False),
        ("weight_decay", lambda v: gk.Adam(weight_decay=v), False), ("lr", lambda v: gk.SGD(lr=v), False),
        ("momentum", lambda v: gk.SGD(momentum=v), False),
        ("slope", lambda v: gk.MLP([2, 1], slope=v), False),
        ("min_loss", lambda v: fit(min_loss=v), True),
        ("equilibrium_tol", lambda v: fit(equilibrium_tol=v), True),
        ("radius", lambda v: datasets.ring(n=4, radius=v), False),
        ("std", lambda v: datasets.grid(n=4, std=v), False),
        ("bandwidth", lambda v: metrics.mmd2(DATA[:8], DATA[8:16], bandwidth=v), True),
        ("threshold_std", lambda v: metrics.mode_scores(DATA[:8], MIX, threshold_std=v), False),
    ]


def name_entry_points(gan):
    """(name, call(value), whether None is valid) for every argument naming a choice."""
    fit = lambda **kw: gan.fit(DATA, **{"batch_size": 8, "max_iter": 1, **kw})  # noqa: E731
    nets = lambda: (gk.MLP([2, 2]), gk.MLP([2, 1]))  # noqa: E731
    return [
        ("activation", lambda v: gk.MLP([2, 1], activation=v), False),
        ("output", lambda v: gk.MLP([2, 1], output=v), True),
        ("g_loss", lambda v: gk.GAN(*nets(), g_loss=v), False),
        ("noise", lambda v: gk.GAN(*nets(), noise=v), False),
        ("min_loss_on", lambda v: fit(min_loss_on=v), False),
        ("name", lambda v: datasets.load(v), False),
        ("name", lambda v: datasets.mixture(v), False),
    ]


def _cases(kind, gan):
    """(name, call, value, error) for one kind of scalar argument."""
    if kind == "counts":
        return [(name, call, value, error) for name, call, capped in count_entry_points(gan)
                for value, error in COUNTS + (HUGE_COUNTS if capped else [])
                if not (value is None and "None means absent" in str(capped))]
    entries, values = (real_entry_points(gan), REALS) if kind == "reals" else (name_entry_points(gan), NAMES)
    return [(name, call, value, error) for name, call, none_is_valid in entries
            for value, error in values if not (value is None and none_is_valid)]


@pytest.mark.parametrize("kind", ["counts", "reals", "names"])
def test_bad_scalars_are_refused_naming_the_argument_and_the_value(kind):
    gan = make_gan()
    gan.fit(DATA, batch_size=8, max_iter=2)
    before, threads = state_of(gan), gk.get_num_threads()
    cases = _cases(kind, gan)
    for name, call, value, error in cases:
        exc = assert_refused(lambda: call(value), error, name)
        shown = {str(value), repr(value), type(value).__name__}
        assert any(text in str(exc) for text in shown), \
            f"{name}={value!r}: the message does not show the given value: {str(exc)!r}"
    assert state_of(gan) == before and gk.get_num_threads() == threads
    record_count(f"bad scalar arguments tried ({kind})", len(cases))


def test_learning_rates_and_betas_are_checked_as_the_float32_the_core_uses():
    assert_refused(lambda: gk.Adam(lr=1e39), ValueError, "lr", "inf")
    assert_refused(lambda: gk.Adam(eps=1e-60), ValueError, "eps", "0.0")
    assert_refused(lambda: gk.Adam(beta1=1 - 1e-12), ValueError, "beta1", "1.0")
    assert_refused(lambda: gk.SGD(momentum=1 - 1e-12), ValueError, "momentum", "1.0")
    assert_refused(lambda: gk.Adam(lr=0), ValueError, "lr", "0")
    assert_refused(lambda: gk.SGD(lr=-1e-3), ValueError, "lr", "-0.001")
    assert gk.Adam(lr=3e38).lr == 3e38  # the float32 range itself is fine


@pytest.mark.parametrize("call, error, fragments", [
    (lambda gan: gan.fit(DATA, batch_size=65), ValueError, ("batch_size", "64", "65")),
    (lambda gan: gan.fit(DATA, batch_size=8, callbacks=5), TypeError, ("callbacks", "int")),
    (lambda gan: gan.fit(DATA, batch_size=8, callbacks=[print, 3]), TypeError, ("callbacks[1]", "int")),
    (lambda gan: gan.fit(DATA, batch_size=8, checkpoint=5), TypeError, ("checkpoint", "5")),
    (lambda gan: gan.fit(DATA, batch_size=8, resume=b""), ValueError, ("resume", "empty")),
    (lambda gan: gan.fit([[1.0], [1.0, 2.0]]), TypeError, ("X", "list")),
    (lambda gan: gan.save(None), TypeError, ("path", "None")),
    (lambda gan: gan.save("bad\0name"), ValueError, ("path", "NUL")),
    (lambda gan: gan.reseed_noise(-1), ValueError, ("seed", "-1")),
    (lambda gan: gan.g_step(), ValueError, ("z or a batch_size",)),
    (lambda gan: gan.g_step(np.ones((2, 2)), 2), ValueError, ("both",)),
    (lambda gan: gan.history.truncate("a"), TypeError, ("n", "'a'")),
    (lambda gan: gan.history["nope"], KeyError, ("nope",)),
    (lambda gan: gan.G.init(2**64), ValueError, ("seed",)),
    (lambda gan: gk.GAN(gan.G, gk.MLP([2, 1])), ValueError, ("G", "already belongs to a GAN")),
    (lambda gan: gk.GAN(gk.MLP([2, 2]), gan.D), ValueError, ("D", "already belongs to a GAN")),
    (lambda gan: gk.MLP({2, 3}), TypeError, ("sizes",)),
    (lambda gan: gk.MLP([2]), ValueError, ("sizes", "at least two")),
    (lambda gan: gk.GAN.load(3), TypeError, ("path", "3")),
])
def test_other_bad_arguments_are_refused_and_change_nothing(call, error, fragments):
    gan = make_gan()
    gan.fit(DATA, batch_size=8, max_iter=2)
    before = state_of(gan)
    assert_refused(lambda: call(gan), error, *fragments)
    assert state_of(gan) == before


def test_a_network_is_released_when_its_gan_is_dropped():
    G, D = gk.MLP([2, 4, 2]), gk.MLP([2, 4, 1])
    gan = gk.GAN(G, D, seed=0)
    with pytest.raises(ValueError, match="already belongs"):
        gk.GAN(G, gk.MLP([2, 4, 1]))
    del gan
    import gc
    gc.collect()
    gk.GAN(G, D, seed=1)  # free again


def test_metrics_refuse_values_whose_squared_distances_overflow():
    huge = np.full((4, 2), 1e200)
    for call, name in [(lambda: metrics.mmd2(huge, DATA[:4]), "x"), (lambda: metrics.nn1_accuracy(DATA[:4], huge), "y"),
                       (lambda: metrics.mode_scores(huge, MIX), "samples"),
                       (lambda: metrics.median_bandwidth(huge, DATA[:4]), "x")]:
        assert_refused(call, ValueError, name, "1e+200")
    assert metrics.mmd2(np.full((4, 2), 2**62), np.zeros((4, 2))) > 0  # large ints are fine


def test_datasets_refuse_what_would_overflow_or_fill_memory():
    assert_refused(lambda: datasets.ring(n=4, radius=1e300), ValueError, "ring", "overflow float32")
    assert_refused(lambda: datasets.Mixture([[1e39, 0.0]], 1.0).sample(8, seed=0), ValueError, "overflow")
    assert_refused(lambda: datasets.grid_mixture(side=10**6), ValueError, "side", str(10**6))
    assert_refused(lambda: datasets.ring_mixture(modes=2**21), ValueError, "modes", str(2**21))
    assert_refused(lambda: datasets.ring(n=2**40), ValueError, "n", str(2**40))


def test_checkpoint_load_refuses_what_is_not_a_regular_file(tmp_path):
    fifo = tmp_path / "fifo.gk"
    os.mkfifo(fifo)
    # Opening a FIFO for reading would block until a writer came: it must not.
    assert_refused(lambda: gk.GAN.load(fifo), gk.CheckpointError, "not a regular file")
    assert_refused(lambda: gk.GAN.load(tmp_path), gk.CheckpointError, "directory")
    assert_refused(lambda: container.load("/dev/zero"), gk.CheckpointError, "not a regular file")
    with pytest.raises(FileNotFoundError):
        gk.GAN.load(tmp_path / "missing.gk")


# -- the CLI ------------------------------------------------------------------------------
@pytest.mark.parametrize("argv, fragment", [
    (["train", "--max-iter", "0"], "--max-iter"),
    (["train", "--batch-size", "-3"], "--batch-size"),
    (["train", "--d-steps", "0"], "--d-steps"),
    (["train", "--n", "0"], "--n"),
    (["train", "--threads", "0"], "--threads"),
    (["train", "--window", "0"], "--window"),
    (["train", "--lr", "nan"], "lr"),
    (["train", "--lr", "1e39"], "lr"),
    (["train", "--lr", "-1"], "lr"),
    (["train", "--beta1", "1"], "beta1"),
    (["train", "--equilibrium-tol", "0.9"], "equilibrium_tol"),
    (["train", "--min-loss", "inf"], "min_loss"),
    (["train", "--threads", "100000"], str(_core.MAX_THREADS)),
    (["train", "--hidden", "8,x"], "--hidden"),
    (["train", "--hidden", "0"], "--hidden"),
    (["train", "--hidden", ""], "--hidden"),
    (["train", "--dataset", "mnist"], "--dataset"),
    (["train", "--g-loss", "wgan"], "--g-loss"),
    (["train", "--max-iter", "ten"], "--max-iter"),
    (["train", "--batch-size", "100", "--n", "10"], "batch_size"),
    (["train", "--out", "/dev/null/run"], "/dev/null"),
    (["sample", "missing.gk", "--out", "s.npy"], "missing.gk"),
    (["sample", "model.gk", "-n", "0", "--out", "s.npy"], "-n"),
    (["sample", "model.gk", "-n", str(2**40), "--out", "s.npy"], "n"),
    (["sample", "model.gk", "--seed", "-1", "--out", "s.npy"], "seed"),
    (["sample", "model.gk", "--out", "missing-dir/s.npy"], "missing-dir"),
    (["sample", "garbage.gk", "--out", "s.npy"], "not a gankit file"),
    (["sample", "truncated.gk", "--out", "s.npy"], "truncated"),
    (["sample", ".", "--out", "s.npy"], "directory"),
    (["bench", "nope"], "nope"),
    (["nope"], "nope"),
])
@isolated(timeout=120)
def test_cli_bad_arguments_and_files_exit_nonzero_with_one_line(tmp_path, capsys, argv, fragment):
    gan = make_gan()
    gan.save(tmp_path / "model.gk")
    (tmp_path / "garbage.gk").write_bytes(b"\x89PNG not a model")
    (tmp_path / "truncated.gk").write_bytes((tmp_path / "model.gk").read_bytes()[:100])
    os.chdir(tmp_path)
    try:
        status = cli.main(argv)
    except SystemExit as exc:  # argparse's usage errors exit 2 after one "error:" line
        status = exc.code
    err = capsys.readouterr().err
    assert status not in (0, None), f"{argv} succeeded"
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert "error:" in last and fragment in last, err
    assert not (tmp_path / "s.npy").exists()


# -- random garbage -------------------------------------------------------------------------
INT32 = np.iinfo(np.int32)  # integers at and beyond the edges of int32, int64 and uint64
SCALARS = (st.none() | st.booleans() | st.integers(-3, 70)
           | st.sampled_from([-2**63, int(INT32.min), int(INT32.max) + 1, 2**63, 2**64, 10**30])
           | st.floats(allow_nan=True, allow_infinity=True) | st.complex_numbers(max_magnitude=1e6)
           | st.text(max_size=6) | st.binary(max_size=6)
           | st.sampled_from(["relu", "tanh", "minimax", "normal", "uniform", "adam", "g_loss", "ring"]))
DTYPES = (hnp.scalar_dtypes() | st.sampled_from([np.dtype(object), np.dtype(">f4"), np.dtype("f2"),
                                                 np.dtype("S3"), np.dtype("U3"),
                                                 np.dtype([("a", "f4"), ("b", "i2")])]))


@st.composite
def garbage_arrays(draw):
    dtype = draw(DTYPES)
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5))
    if dtype.kind == "O":
        arr = np.empty(shape, dtype=object)
        for index in np.ndindex(shape):
            arr[index] = draw(SCALARS)
    else:
        arr = draw(hnp.arrays(dtype, shape))
    layout = draw(st.sampled_from(["plain", "fortran", "strided", "read-only", "list"]))
    if layout == "fortran":
        arr = np.asfortranarray(arr)
    elif layout == "strided" and arr.ndim >= 1:
        arr = np.repeat(arr, 2, axis=-1)[..., ::2]
    elif layout == "read-only":
        arr = arr.copy()
        arr.setflags(write=False)
    elif layout == "list" and dtype.kind in "biufc":
        return arr.tolist()
    return arr


FROZEN = DATA.copy()
FROZEN.setflags(write=False)  # a garbage value may reach an in-place kernel
GARBAGE = st.deferred(lambda: SCALARS | garbage_arrays() | st.lists(GARBAGE, max_size=3)
                      | st.tuples(GARBAGE, GARBAGE) | st.dictionaries(st.text(max_size=3), GARBAGE, max_size=2)
                      | st.sampled_from([object(), print, np.float32, FROZEN, FROZEN[:, :1], ...]))


def _bounded(k):
    """k (the discriminator steps per iteration) has no upper limit: a huge valid one is
    slow, not wrong. Garbage that happens to be such a k is replaced by 1."""
    return 1 if isinstance(k, int) and not isinstance(k, bool) and k > 100 else k


def _modest_sizes(sizes) -> bool:
    """False for a layer-size list whose valid network would need gigabytes: garbage
    may hit that by chance, and a big valid network is slow, not a bug."""
    try:
        values = [int(v) for v in np.ravel(np.asarray(sizes, dtype=object))]
    except Exception:  # not a list of numbers: let MLP refuse it
        return True
    return all(v <= 4096 or v > _core.MAX_WIDTH for v in values)


def garbage_calls(gan, scratch):
    """Each entry point of the public API as call(a, b): a and b are the garbage."""
    X = DATA
    return {
        "GAN.d_step": lambda a, b: gan.d_step(a),
        "GAN.d_step(x, z)": lambda a, b: gan.d_step(X[:4], a),
        "GAN.g_step(z)": lambda a, b: gan.g_step(a),
        "GAN.g_step(batch_size)": lambda a, b: gan.g_step(batch_size=a),
        "GAN.g_step(z, batch_size)": lambda a, b: gan.g_step(a, b),
        "GAN.sample": lambda a, b: gan.sample(a),
        "GAN.sample(z)": lambda a, b: gan.sample(1, z=a),
        "GAN.noise": lambda a, b: gan.noise(a),
        "GAN.discriminate": lambda a, b: gan.discriminate(a),
        "GAN.reseed_noise": lambda a, b: gan.reseed_noise(a),
        "GAN.fit(X)": lambda a, b: gan.fit(a, batch_size=2, max_iter=len(gan.history) + 1),
        "GAN.fit(kwargs)": lambda a, b: gan.fit(X, max_iter=len(gan.history) + 2, batch_size=8,
                                                d_steps=_bounded(a), window=b),
        "GAN.fit(stop rules)": lambda a, b: gan.fit(X, batch_size=4, max_iter=len(gan.history) + 1,
                                                    min_loss=a, equilibrium_tol=b),
        "GAN.fit(callbacks)": lambda a, b: gan.fit(X, batch_size=4, max_iter=len(gan.history) + 1, callbacks=a),
        "MLP.forward": lambda a, b: gan.G.forward(a),
        "MLP.set_weights": lambda a, b: gan.D.set_weights(a),
        "MLP.init": lambda a, b: gan.G.init(a),
        "History.last": lambda a, b: gan.history.last(a, b),
        "History.truncate": lambda a, b: gan.history.truncate(a),
        "MLP()": lambda a, b: gk.MLP(a, activation=b) if _modest_sizes(a) else None,
        "MLP(sizes, slope, seed)": lambda a, b: gk.MLP([2, 3, 1], slope=a, seed=b),
        "Adam": lambda a, b: gk.Adam(lr=a, beta1=b),
        "SGD": lambda a, b: gk.SGD(a, b),
        "GAN()": lambda a, b: gk.GAN(gk.MLP([2, 2]), gk.MLP([2, 1]), noise_dim=a, g_loss=b),
        "GAN(optimizers, seed)": lambda a, b: gk.GAN(gk.MLP([2, 2]), gk.MLP([2, 1]), d_optimizer=a, seed=b),
        "GAN(G, D)": lambda a, b: gk.GAN(a, b),
        "GAN.load": lambda a, b: gk.GAN.load(a) if not isinstance(a, (str, bytes)) else None,
        "set_num_threads": lambda a, b: gk.set_num_threads(a),
        "datasets.ring": lambda a, b: datasets.ring(n=8, modes=a, radius=b),
        "datasets.grid": lambda a, b: datasets.grid(n=a if not isinstance(a, int) or a < 100 else 8, std=b),
        "datasets.gaussian_1d": lambda a, b: datasets.gaussian_1d(n=8, means=a, weights=b),
        "datasets.load": lambda a, b: None if isinstance(a, str) and a == "digits" else datasets.load(a, n=b),
        "datasets.mixture": lambda a, b: datasets.mixture(a),
        "datasets.Mixture": lambda a, b: datasets.Mixture(a, b).sample(4),
        "metrics.mmd2": lambda a, b: metrics.mmd2(a, b),
        "metrics.nn1_accuracy": lambda a, b: metrics.nn1_accuracy(a, X[:3]),
        "metrics.mode_scores": lambda a, b: metrics.mode_scores(a, MIX, b),
        "metrics.median_bandwidth": lambda a, b: metrics.median_bandwidth(X[:5], a),
        "checkpoint.save": lambda a, b: container.save(scratch, a, b),
        "_core.matmul": lambda a, b: _core.matmul(a, b),
        "_core.dense_forward": lambda a, b: _core.dense_forward(a, np.ones((2, 3), np.float32), b),
        "_core.dense_backward": lambda a, b: _core.dense_backward(a, np.ones((2, 3), np.float32), b, b),
        "_core.activation_forward": lambda a, b: _core.activation_forward(a, b),
        "_core.activation_backward": lambda a, b: _core.activation_backward(a, b, "tanh"),
        "_core.discriminator_loss": lambda a, b: _core.discriminator_loss(a, b),
        "_core.generator_loss": lambda a, b: _core.generator_loss(a, b),
        "_core.sgd_step": lambda a, b: _core.sgd_step(a, b, None, lr=0.1),
        "_core.adam_step": lambda a, b: _core.adam_step(a, b, np.zeros(3, np.float32),
                                                        np.zeros(3, np.float32), 1, 0.1),
        "_core.Rng": lambda a, b: _core.Rng(a).uniform(3, b, 1.0),
    }


ENTRY_NAMES = sorted(garbage_calls(None, None))
# History is a mapping of columns: an unknown column name is a KeyError, as in a dict.
EXTRA_ALLOWED = {"History.last": (KeyError,)}
# A callback that raises does so after its iteration was done and recorded.
RAISE_AFTER_WORK = {"GAN.fit(callbacks)"}


@isolated(timeout=1800)
def test_random_garbage_raises_only_documented_errors_and_corrupts_nothing(tmp_path):
    """Hypothesis throws random objects, dtypes, shapes and values at every entry point.
    Only TypeError/ValueError (incl. CheckpointError)/ConcurrentUseError may come out; a
    call that is refused must leave the GAN as it was, and a call that succeeds is
    replayed on an untouched twin so both stay identical. At the end both train on and
    must end bitwise equal."""
    victim, twin = make_gan(), make_gan()
    victim.fit(DATA, batch_size=8, max_iter=2)
    twin.fit(DATA, batch_size=8, max_iter=2)
    scratch = tmp_path / "scratch.gk"
    victim_calls, twin_calls = garbage_calls(victim, scratch), garbage_calls(twin, scratch)
    tally = {"tried": 0, "refused": 0, "accepted": 0}
    threads = gk.get_num_threads()

    def outcome(call, a, b):
        """None if the call returned, else the type of the documented exception."""
        allowed = DOCUMENTED + EXTRA_ALLOWED.get(name_of[call], ())
        try:
            with np.errstate(all="ignore"):
                call(a, b)
        except allowed as exc:
            return type(exc)
        finally:
            gk.set_num_threads(threads)
        return None

    name_of = {call: name for calls in (victim_calls, twin_calls) for name, call in calls.items()}

    # No shrinking: on a failure the raw example is reported at once (shrinking these
    # nested objects can take longer than the whole run).
    @settings(max_examples=scaled(3000), deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(name=st.sampled_from(ENTRY_NAMES), a=GARBAGE, b=GARBAGE)
    def throw(name, a, b):
        tally["tried"] += 1
        before = state_of(victim)
        victim_outcome = outcome(victim_calls[name], a, b)
        tally["refused" if victim_outcome else "accepted"] += 1
        if victim_outcome and name not in RAISE_AFTER_WORK:
            assert state_of(victim) == before, f"{name} refused {a!r:.80}, {b!r:.80} but changed the GAN"
        # The twin gets the same call: it must end the same way and in the same state.
        assert outcome(twin_calls[name], a, b) == victim_outcome
        assert state_of(victim) == state_of(twin), f"{name}({a!r:.80}, {b!r:.80}) diverged the twins"

    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        throw()
    victim.fit(DATA, batch_size=8, max_iter=len(victim.history) + 5)
    twin.fit(DATA, batch_size=8, max_iter=len(twin.history) + 5)
    assert state_of(victim) == state_of(twin)
    np.testing.assert_array_equal(victim.sample(16), twin.sample(16))
    record_count("random garbage calls", tally)
    assert tally["refused"] > tally["tried"] // 3 and tally["accepted"] > 0
