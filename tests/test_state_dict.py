"""GAN.state_dict / load_state_dict and MLP's: the one seam through which checkpoints,
the divergence guard and the interrupt rollback read and write a GAN's state."""
import numpy as np
import pytest

import gankit as gk

X = gk.datasets.ring(2000, seed=0)


def make_gan(seed=0, ema=0.99, pack=2):
    G = gk.MLP([2, 16, 16, 2], batch_norm=True)
    D = gk.MLP([2 * pack, 16, 1], activation="maxout", pieces=3, dropout=0.1)
    opt = gk.Adam(lr=1e-3, schedule="linear", schedule_steps=50)
    return gk.GAN(G, D, seed=seed, pack=pack, ema=ema, d_optimizer=opt, g_optimizer=opt)


def copied(state):
    return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in state.items()}


def assert_same_state(expected, actual):
    for key, value in expected.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, actual[key], err_msg=key)
        else:
            assert value == actual[key], key


def assert_same(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        if key == "history.time":  # wall-clock seconds
            continue
        if isinstance(sa[key], np.ndarray):
            np.testing.assert_array_equal(sa[key], sb[key], err_msg=key)
        else:
            assert sa[key] == sb[key], key


def test_keys_and_types():
    gan = make_gan()
    gan.fit(X, batch_size=32, max_iter=3)
    state = gan.state_dict()
    for net in ("G", "D"):
        for key in ("params", "optimizer_state", "buffers"):
            assert state[f"{net}.{key}"].dtype == np.float32 and state[f"{net}.{key}"].ndim == 1
        assert isinstance(state[f"{net}.optimizer_step"], int)
        assert len(state[f"{net}.dropout_state"]) == 2
    assert state["G.average_params"].shape == gan.G.params.shape
    assert len(state["noise_rng_state"]) == 4 and state["batch_rng_state"]["bit_generator"] == "PCG64"
    assert state["iteration"] == 3 and state["history.d_loss"].shape == (3,)
    assert "history.d_loss" not in gan.state_dict(history=False)
    # live views, like PyTorch's state_dict
    assert np.shares_memory(state["G.params"], gan.G.params)


def test_loading_another_gans_state_continues_its_run_bitwise():
    a, b = make_gan(seed=1), make_gan(seed=2)
    a.fit(X, batch_size=32, max_iter=20)
    b.load_state_dict(a.state_dict())
    assert_same(a, b)
    a.fit(X, batch_size=32, max_iter=40)
    b.fit(X, batch_size=32, max_iter=40)
    assert_same(a, b)
    np.testing.assert_array_equal(a.sample(50), b.sample(50))


def test_a_snapshot_undoes_training_exactly():
    gan = make_gan(seed=3)
    gan.fit(X, batch_size=32, max_iter=10)
    snapshot = copied(gan.state_dict(history=False))
    before = copied(gan.state_dict())
    gan.fit(X, batch_size=32, max_iter=25)
    gan.load_state_dict(snapshot)  # no history entries: the history is cut back to 10
    assert len(gan.history) == 10
    assert_same_state(before, gan.state_dict())


def test_config_builds_the_same_gan():
    gan = make_gan(seed=5)
    other = gk.GAN.from_config(gan.config())
    assert other.config() == gan.config()
    assert_same(gan, other)


def test_mlp_state_round_trip_and_prefix_in_messages():
    a, b = gk.MLP([3, 7, 2], batch_norm=True, seed=1), gk.MLP([3, 7, 2], batch_norm=True, seed=2)
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(a.params, b.params)
    bad = copied(a.state_dict())
    bad["params"] = bad["params"][:-1]
    with pytest.raises(ValueError, match=r"^G\.params: expected shape"):
        b.load_state_dict(bad, prefix="G.")


@pytest.mark.parametrize("damage, error, match", [
    (lambda s: s.pop("D.optimizer_state"), ValueError, r"D\.: expected the keys .* got no optimizer_state"),
    (lambda s: s.__setitem__("D.extra", 1), ValueError, r"unknown extra"),
    (lambda s: s.__setitem__("D.params", s["D.params"][:-1]), ValueError, r"D\.params: expected shape"),
    (lambda s: s["D.params"].__setitem__(0, np.nan), ValueError, r"D\.params: expected finite"),
    (lambda s: s["G.buffers"].__setitem__(slice(None), -1.0), ValueError, r"G\.buffers: .*variances >= 0"),
    (lambda s: s.__setitem__("D.optimizer_step", -1), ValueError, r"D\.optimizer_step: expected an integer >= 0"),
    (lambda s: s.__setitem__("D.dropout_state", (1,)), ValueError, r"D\.dropout_state: expected \(seed, counter\)"),
    (lambda s: s.__setitem__("G.average_params", s["G.average_params"][:3]), ValueError, r"G\.average_params"),
    (lambda s: s.pop("G.average_buffers"), ValueError, r"G\.average_buffers: missing"),
    (lambda s: s.__setitem__("noise_rng_state", (0, 0, 0, 0)), ValueError, r"noise_rng_state: .*not all zero"),
    (lambda s: s.__setitem__("batch_rng_state", {"bit_generator": "MT19937"}), ValueError, r"batch_rng_state"),
    (lambda s: s.__setitem__("iteration", 99), ValueError, r"iteration: expected at most"),
])
def test_a_bad_state_is_refused_and_changes_nothing(damage, error, match):
    gan = make_gan(seed=7)
    gan.fit(X, batch_size=32, max_iter=5)
    before = copied(gan.state_dict())
    bad = copied(gan.state_dict(history=False))
    damage(bad)
    with pytest.raises(error, match=match):
        gan.load_state_dict(bad)
    assert_same_state(before, gan.state_dict())


def test_average_entries_without_ema_are_refused():
    with_average = make_gan(ema=0.9).state_dict()
    plain = make_gan(ema=None)
    with pytest.raises(ValueError, match=r"G\.average_params: given, but this GAN does not average"):
        plain.load_state_dict(copied(with_average))


def test_not_a_dict_is_refused():
    with pytest.raises(TypeError, match="state: expected a dict"):
        make_gan().load_state_dict([1, 2])
    with pytest.raises(TypeError, match="state: expected a dict"):
        gk.MLP([2, 3, 1]).load_state_dict(None)


def test_resume_method_matches_fit_resume(tmp_path):
    a = make_gan(seed=9)
    a.fit(X, batch_size=32, max_iter=12, checkpoint=tmp_path / "c.gk", checkpoint_every=6)
    b = make_gan(seed=9)
    b.resume(tmp_path / "c.gk")
    assert_same(a, b)
