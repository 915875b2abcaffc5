"""GAN.save / GAN.load / resume: round trips, exact resumption, and files that are
truncated, corrupted or not gankit's giving the documented error."""
import os

import numpy as np
import pytest

import gankit as gk


def make_gan(seed=0, g_loss="non_saturating", opt=None):
    opt = opt or gk.Adam(lr=1e-3)
    return gk.GAN(gk.MLP([2, 32, 32, 2]), gk.MLP([2, 32, 32, 1]), g_loss=g_loss,
                  d_optimizer=opt, g_optimizer=opt, seed=seed)


@pytest.fixture
def data():
    return gk.datasets.ring(n=3000, seed=0)


def assert_same_state(a, b):
    for x, y in ((a.G.params, b.G.params), (a.D.params, b.D.params),
                 (a.G._net.optimizer_state, b.G._net.optimizer_state),
                 (a.D._net.optimizer_state, b.D._net.optimizer_state)):
        np.testing.assert_array_equal(x, y)
    assert a.G._net.optimizer_step == b.G._net.optimizer_step
    assert a.D._net.optimizer_step == b.D._net.optimizer_step
    for name in ("d_loss", "g_loss", "d_real", "d_fake"):
        np.testing.assert_array_equal(a.history[name], b.history[name])


@pytest.mark.parametrize("opt", [gk.Adam(lr=1e-3, weight_decay=1e-4), gk.SGD(lr=0.01, momentum=0.9)])
def test_save_load_round_trip(tmp_path, data, opt):
    gan = make_gan(seed=3, g_loss="minimax", opt=opt)
    gan.fit(data, batch_size=64, max_iter=25)
    path = tmp_path / "model.gk"
    gan.save(path)
    loaded = gk.GAN.load(path)
    assert_same_state(gan, loaded)
    assert loaded.g_loss == "minimax" and loaded.seed == 3 and loaded.iteration == 25
    assert loaded.d_optimizer == opt and loaded.history.stop_reason == "max_iter"
    np.testing.assert_array_equal(gan.sample(50), loaded.sample(50))  # noise RNG carried


class Interrupt(Exception):
    pass


def straight_and_resumed(make, data, ckpt, max_iter, crash_at, checkpoint_every):
    """Two runs of make(seed=5) on `data` (batch 64, d_steps 2): one straight to
    max_iter, and one that checkpoints every `checkpoint_every` iterations, is killed at
    iteration `crash_at` and resumed from its checkpoint by a fresh GAN. Returns the
    straight GAN, the resumed GAN and the resumed fit's history."""
    straight = make(seed=5)
    straight.fit(data, batch_size=64, d_steps=2, max_iter=max_iter)
    interrupted = make(seed=5)

    def crash(iteration, record, gan):
        if iteration == crash_at:
            raise Interrupt

    with pytest.raises(Interrupt):
        interrupted.fit(data, batch_size=64, d_steps=2, max_iter=max_iter, checkpoint=ckpt,
                        checkpoint_every=checkpoint_every, callbacks=[crash])
    resumed = make(seed=5)
    hist = resumed.fit(data, batch_size=64, d_steps=2, max_iter=max_iter, resume=ckpt)
    return straight, resumed, hist


def test_resume_is_bitwise_identical_to_an_uninterrupted_run(tmp_path, data):
    straight, resumed, hist = straight_and_resumed(make_gan, data, tmp_path / "run.gk", max_iter=60,
                                                   crash_at=47, checkpoint_every=20)
    assert len(hist) == 60 and hist.stop_reason == "max_iter"
    assert_same_state(straight, resumed)


def test_checkpoint_file_is_written_during_and_after_fit(tmp_path, data):
    ckpt = tmp_path / "ck.gk"
    seen = []

    def watch(iteration, record, gan):
        if iteration == 11:
            seen.append(gk.GAN.load(ckpt).iteration)

    make_gan().fit(data, batch_size=32, max_iter=15, checkpoint=ckpt, checkpoint_every=10, callbacks=[watch])
    assert seen == [10]
    assert gk.GAN.load(ckpt).iteration == 15
    assert [p.name for p in tmp_path.iterdir()] == ["ck.gk"]  # no temporary files left


def test_resume_refuses_a_different_architecture(tmp_path, data):
    gan = make_gan()
    gan.fit(data, batch_size=32, max_iter=3)
    gan.save(tmp_path / "a.gk")
    other = gk.GAN(gk.MLP([2, 16, 2]), gk.MLP([2, 32, 32, 1]))
    with pytest.raises(ValueError, match=r"resume: .* whose G.sizes is \[2, 32, 32, 2\], but this GAN.s is \[2, 16, 2\]"):
        other.fit(data, batch_size=32, max_iter=5, resume=tmp_path / "a.gk")


def test_truncated_and_corrupted_files_raise_checkpoint_error(tmp_path, data):
    gan = make_gan()
    gan.fit(data, batch_size=32, max_iter=3)
    path = tmp_path / "m.gk"
    gan.save(path)
    blob = path.read_bytes()
    bad = tmp_path / "bad.gk"
    rng = np.random.default_rng(0)
    for cut in sorted(set(rng.integers(0, len(blob), 60).tolist()) | {0, 1, 7, len(blob) - 1}):
        bad.write_bytes(blob[:cut])
        with pytest.raises(gk.CheckpointError):
            gk.GAN.load(bad)
    for pos in rng.integers(0, len(blob), 60):
        flipped = bytearray(blob)
        flipped[pos] ^= 1 << int(rng.integers(0, 8))
        bad.write_bytes(bytes(flipped))
        with pytest.raises(gk.CheckpointError):
            gk.GAN.load(bad)
    bad.write_bytes(b"not a gankit file at all, just some text\n" * 10)
    with pytest.raises(gk.CheckpointError):
        gk.GAN.load(bad)
    with pytest.raises(FileNotFoundError):
        gk.GAN.load(tmp_path / "missing.gk")


def test_a_container_that_is_not_a_gan_is_refused(tmp_path):
    from gankit import file_format as checkpoint
    path = tmp_path / "other.gk"
    checkpoint.save(path, {"kind": "something else"}, {})
    with pytest.raises(gk.CheckpointError, match="not a GAN checkpoint"):
        gk.GAN.load(path)


def test_crafted_architecture_cannot_allocate_beyond_the_file(tmp_path, data):
    from gankit import file_format as checkpoint
    gan = make_gan()
    gan.save(tmp_path / "m.gk")
    meta, arrays = checkpoint.load(tmp_path / "m.gk")
    meta["G"]["sizes"] = [2, 16_000_000, 16_000_000, 2]
    checkpoint.save(tmp_path / "evil.gk", meta, arrays)
    with pytest.raises(gk.CheckpointError, match="G.params"):
        gk.GAN.load(tmp_path / "evil.gk")


def test_failed_save_leaves_previous_file_intact(tmp_path, data, monkeypatch):
    gan = make_gan()
    path = tmp_path / "m.gk"
    gan.save(path)
    before = path.read_bytes()
    gan.fit(data, batch_size=32, max_iter=5)

    def broken_replace(src, dst):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="simulated"):
        gan.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.gk"]


# -- batch norm, maxout and dropout ------------------------------------------------------
def make_layered_gan(seed=0):
    opt = gk.Adam(lr=1e-3)
    G = gk.MLP([2, 32, 32, 2], activation="relu", batch_norm=True, dropout=0.1)
    D = gk.MLP([2, 24, 24, 1], activation="maxout", pieces=3, dropout=0.2)
    return gk.GAN(G, D, d_optimizer=opt, g_optimizer=opt, seed=seed)


def assert_same_layered_state(a, b):
    assert_same_state(a, b)
    for x, y in ((a.G._net.buffers, b.G._net.buffers), (a.D._net.buffers, b.D._net.buffers)):
        np.testing.assert_array_equal(x, y)
    assert a.G._net.dropout_state == b.G._net.dropout_state
    assert a.D._net.dropout_state == b.D._net.dropout_state


def test_layered_round_trip_keeps_running_statistics_and_dropout_state(tmp_path, data):
    gan = make_layered_gan(seed=2)
    gan.fit(data, batch_size=64, max_iter=20)
    gan.save(tmp_path / "m.gk")
    loaded = gk.GAN.load(tmp_path / "m.gk")
    assert loaded.G.config() == gan.G.config() and loaded.D.config() == gan.D.config()
    assert_same_layered_state(gan, loaded)
    assert gan.G._net.dropout_state[1] == 2 * 20  # G runs in training mode in both steps
    np.testing.assert_array_equal(gan.sample(40), loaded.sample(40))  # running statistics used


def test_layered_resume_is_bitwise_identical_to_an_uninterrupted_run(tmp_path, data):
    straight, resumed, hist = straight_and_resumed(make_layered_gan, data, tmp_path / "run.gk",
                                                   max_iter=50, crash_at=33, checkpoint_every=15)
    assert len(hist) == 50
    assert_same_layered_state(straight, resumed)
    np.testing.assert_array_equal(straight.sample(30), resumed.sample(30))


def strip_to_old_format(path):
    """Rewrite a checkpoint of plain networks as gankit wrote it before batch norm, maxout,
    dropout, packing, averaging and schedules existed: no new config keys, no buffers, no
    dropout states, no pack or ema, optimizers without schedule fields."""
    from gankit import file_format as checkpoint
    meta, arrays = checkpoint.load(path)
    del meta["pack"], meta["ema"]
    for name in ("d_optimizer", "g_optimizer"):
        for key in ("schedule", "schedule_steps", "final_lr"):
            del meta[name][key]
    for name in ("G", "D"):
        for key in ("batch_norm", "pieces", "dropout"):
            del meta[name][key]
        del meta[f"{name}_dropout_state"]
        del arrays[f"{name}.buffers"]
    checkpoint.save(path, meta, arrays)


def test_files_from_before_the_new_layers_still_load_and_resume(tmp_path, data):
    gan = make_gan(seed=6)
    gan.fit(data, batch_size=32, max_iter=10)
    path = tmp_path / "old.gk"
    gan.save(path)
    strip_to_old_format(path)
    loaded = gk.GAN.load(path)
    assert_same_state(gan, loaded)
    assert loaded.G.config()["batch_norm"] is False and loaded.D.config()["pieces"] is None
    resumed = make_gan(seed=6)
    resumed.fit(data, batch_size=32, max_iter=12, resume=path)
    gan.fit(data, batch_size=32, max_iter=12)
    assert_same_state(gan, resumed)


@pytest.mark.parametrize("damage, match", [
    (lambda meta, arrays: arrays.pop("G.buffers"), "G.buffers: missing"),
    (lambda meta, arrays: arrays.__setitem__("G.buffers", arrays["G.buffers"][:-1]), "G.buffers: expected float32"),
    (lambda meta, arrays: arrays.__setitem__("G.buffers", -np.abs(arrays["G.buffers"]) - 1), "variances >= 0"),
    (lambda meta, arrays: meta.pop("D_dropout_state"), "D_dropout_state: missing"),
    (lambda meta, arrays: meta.__setitem__("G_dropout_state", ["1"]), "G_dropout_state: expected two"),
    (lambda meta, arrays: meta["D"].__setitem__("pieces", 10**9), r"D config: pieces"),
    (lambda meta, arrays: meta["D"].__setitem__("pieces", 4), "D.params: expected float32"),
    (lambda meta, arrays: meta["G"].__setitem__("batch_norm", False), "G.params: expected float32"),
    (lambda meta, arrays: meta["G"].__setitem__("batch_norm", "yes"), "G config: batch_norm"),
])
def test_damaged_layered_checkpoints_raise_checkpoint_error(tmp_path, damage, match):
    from gankit import file_format as checkpoint
    make_layered_gan().save(tmp_path / "m.gk")
    meta, arrays = checkpoint.load(tmp_path / "m.gk")
    damage(meta, arrays)
    checkpoint.save(tmp_path / "bad.gk", meta, arrays)
    with pytest.raises(gk.CheckpointError, match=match):
        gk.GAN.load(tmp_path / "bad.gk")


# -- packing, generator averaging and learning-rate schedules ---------------------------
def make_packed_averaged_gan(seed=0, pack=3, ema=0.99):
    schedule = dict(schedule="cosine", schedule_steps=40, final_lr=1e-5)
    G = gk.MLP([2, 32, 32, 2], activation="relu", batch_norm=True)
    D = gk.MLP([2 * pack, 24, 24, 1])
    return gk.GAN(G, D, pack=pack, ema=ema, seed=seed, d_optimizer=gk.Adam(lr=1e-3, **schedule),
                  g_optimizer=gk.SGD(lr=0.02, momentum=0.5, **schedule))


def assert_same_average(a, b):
    np.testing.assert_array_equal(a.average_params, b.average_params)
    np.testing.assert_array_equal(a._gan.average_buffers, b._gan.average_buffers)


def test_packed_averaged_round_trip(tmp_path, data):
    gan = make_packed_averaged_gan(seed=4)
    gan.fit(data, batch_size=63, max_iter=20)
    gan.save(tmp_path / "m.gk")
    loaded = gk.GAN.load(tmp_path / "m.gk")
    assert loaded.pack == 3 and loaded.ema == pytest.approx(0.99)
    assert loaded.d_optimizer == gan.d_optimizer and loaded.g_optimizer == gan.g_optimizer
    assert_same_layered_state(gan, loaded)
    assert_same_average(gan, loaded)
    assert loaded.D._net.learning_rate == gan.D._net.learning_rate  # the schedule goes on
    z = np.random.default_rng(0).standard_normal((30, 2)).astype(np.float32)
    np.testing.assert_array_equal(gan.sample(30, z=z), loaded.sample(30, z=z))
    np.testing.assert_array_equal(gan.sample(30, z=z, averaged=False), loaded.sample(30, z=z, averaged=False))


def test_packed_averaged_resume_is_bitwise_identical_to_an_uninterrupted_run(tmp_path, data):
    make = lambda seed: make_packed_averaged_gan(seed=seed, pack=4)
    straight, resumed, hist = straight_and_resumed(make, data, tmp_path / "run.gk",
                                                   max_iter=60, crash_at=37, checkpoint_every=15)
    assert len(hist) == 60  # past the schedule's 40 updates of G
    assert_same_layered_state(straight, resumed)
    assert_same_average(straight, resumed)


@pytest.mark.parametrize("change, match", [
    (dict(pack=4), "pack is 3, but this GAN's is 4"),
    (dict(ema=0.9), "ema is 0.99, but this GAN.s is 0.9"),
    (dict(ema=None), "ema is 0.99, but this GAN.s is None"),
])
def test_resume_refuses_another_pack_or_average(tmp_path, data, change, match):
    gan = make_packed_averaged_gan()
    gan.fit(data, batch_size=60, max_iter=3, checkpoint=tmp_path / "c.gk")
    settings = {"pack": 3, "ema": 0.99, **change}
    other = make_packed_averaged_gan(**settings)
    with pytest.raises(ValueError, match=match):
        other.fit(data, batch_size=60, max_iter=5, resume=tmp_path / "c.gk")


def test_resume_refuses_another_schedule(tmp_path, data):
    gan = make_gan()
    gan.fit(data, batch_size=32, max_iter=3, checkpoint=tmp_path / "c.gk")
    other = make_gan(opt=gk.Adam(lr=1e-3, schedule="linear", schedule_steps=100))
    with pytest.raises(ValueError, match="d_optimizer.schedule is .constant., but this GAN.s is .linear."):
        other.fit(data, batch_size=32, max_iter=5, resume=tmp_path / "c.gk")


@pytest.mark.parametrize("damage, match", [
    (lambda meta, arrays: arrays.pop("G.average_params"), "G.average_params: missing"),
    (lambda meta, arrays: arrays.__setitem__("G.average_params", arrays["G.average_params"][:-1]),
     "G.average_params: expected shape"),
    (lambda meta, arrays: arrays["G.average_params"].__setitem__(0, np.nan), "G.average_params: expected finite"),
    (lambda meta, arrays: meta.__setitem__("pack", 0), "pack: expected an integer >= 1"),
    (lambda meta, arrays: meta.__setitem__("ema", 2.0), "ema: expected 0 <= ema < 1"),
    (lambda meta, arrays: meta["g_optimizer"].__setitem__("schedule", "steps"), "schedule: expected one of"),
])
def test_damaged_packed_averaged_checkpoints_raise_checkpoint_error(tmp_path, damage, match):
    from gankit import file_format as checkpoint
    make_packed_averaged_gan().save(tmp_path / "m.gk")
    meta, arrays = checkpoint.load(tmp_path / "m.gk")
    arrays = {k: np.array(v) for k, v in arrays.items()}
    damage(meta, arrays)
    checkpoint.save(tmp_path / "bad.gk", meta, arrays)
    with pytest.raises(gk.CheckpointError, match=match):
        gk.GAN.load(tmp_path / "bad.gk")
