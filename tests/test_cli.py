"""The `gankit` command end to end in a temporary directory."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest


def gankit(*args, cwd):
    return subprocess.run([sys.executable, "-m", "gankit.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_train_then_sample(tmp_path):
    r = gankit("train", "--dataset", "gaussian_1d", "--max-iter", "300", "--out", "run",
               "--checkpoint-every", "100", "--no-plot", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "stop reason: max_iter after 300 iterations" in r.stdout
    assert "generated mean" in r.stdout
    assert "it/s" in r.stderr  # progress lines
    run = tmp_path / "run"
    assert {"model.gk", "checkpoint.gk", "history.csv", "report.json"} <= set(os.listdir(run))
    lines = (run / "history.csv").read_text().splitlines()
    assert lines[0] == "iteration,d_loss,g_loss,d_real,d_fake,time" and len(lines) == 301
    report = json.loads((run / "report.json").read_text())
    assert report["stop_reason"] == "max_iter" and report["iterations"] == 300

    r = gankit("sample", "run/model.gk", "-n", "123", "--out", "s.npy", "--seed", "4", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    samples = np.load(tmp_path / "s.npy")
    assert samples.shape == (123, 1) and samples.dtype == np.float32
    r2 = gankit("sample", "run/model.gk", "-n", "123", "--out", "t.npy", "--seed", "4", cwd=tmp_path)
    assert r2.returncode == 0
    np.testing.assert_array_equal(samples, np.load(tmp_path / "t.npy"))


def test_train_resume_continues_the_checkpoint(tmp_path):
    common = ("--dataset", "ring", "--out", "run", "--hidden", "16", "--no-plot", "--quiet")
    r = gankit("train", *common, "--max-iter", "40", "--checkpoint-every", "20", "--lr-schedule",
               "constant", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = gankit("train", *common, "--max-iter", "60", "--resume", "--lr-schedule", "constant", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "after 60 iterations" in r.stdout
    assert len((tmp_path / "run" / "history.csv").read_text().splitlines()) == 61


def test_resume_with_a_scheduled_rate_keeps_the_schedule(tmp_path):
    """The default schedule decays over --max-iter: a resumed run must ask for the same
    number, and asking for more is refused with the reason, not trained at another rate."""
    common = ("--dataset", "ring", "--out", "run", "--hidden", "16", "--no-plot", "--quiet")
    r = gankit("train", *common, "--max-iter", "30", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = gankit("train", *common, "--max-iter", "50", "--resume", cwd=tmp_path)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "schedule_steps is 30, but this GAN's is 50" in r.stderr


def test_pack_ema_and_schedule_options_reach_the_model(tmp_path):
    r = gankit("train", "--dataset", "ring", "--hidden", "16", "--max-iter", "20", "--batch-size", "48",
               "--pack", "3", "--ema", "0.9", "--lr-schedule", "cosine", "--final-lr", "1e-5",
               "--out", "run", "--no-plot", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "cosine to 1e-05, ema 0.9, pack 3" in r.stderr
    import gankit as gk
    gan = gk.GAN.load(tmp_path / "run" / "model.gk")
    assert gan.pack == 3 and gan.D.sizes[0] == 6 and gan.ema == pytest.approx(0.9)
    assert gan.g_optimizer.schedule == "cosine" and gan.g_optimizer.schedule_steps == 20
    assert gan.d_optimizer.final_lr == pytest.approx(1e-5)
    # Without --batch-size, D gets the dataset's batch in packs, as in PacGAN's code.
    r = gankit("train", "--dataset", "ring", "--hidden", "8", "--max-iter", "3", "--pack", "3",
               "--out", "packs", "--no-plot", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "batch 1536 (512 packs)" in r.stderr
    r = gankit("train", "--dataset", "ring", "--ema", "0", "--max-iter", "5", "--hidden", "8",
               "--out", "off", "--no-plot", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert gk.GAN.load(tmp_path / "off" / "model.gk").ema is None


def test_precision_bf16_reaches_the_model_or_is_refused(tmp_path):
    import gankit as gk
    r = gankit("train", "--dataset", "ring", "--hidden", "16", "--max-iter", "5", "--precision", "bf16",
               "--out", "bf16", "--no-plot", cwd=tmp_path)
    if not gk._core.gemm_bf16_kernel():
        assert r.returncode == 2 and "--precision bf16: this CPU has no bf16 kernel" in r.stderr
        return
    assert r.returncode == 0, r.stderr
    assert f"bf16 products ({gk._core.gemm_bf16_kernel()})" in r.stderr
    gan = gk.GAN.load(tmp_path / "bf16" / "model.gk")
    assert gan.G.precision == gan.D.precision == "bf16"


def cli_defaults(dataset):
    from gankit import cli
    return cli.DEFAULTS[dataset]


def test_d_lr_sets_the_discriminators_rate_and_grid_defaults_to_twice_g(tmp_path):
    import gankit as gk
    from gankit import cli
    r = gankit("train", "--dataset", "grid", "--n", "2000", "--hidden", "8", "--max-iter", "4",
               "--out", "grid", "--no-plot", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lr = cli.DEFAULTS["grid"]["lr"]
    assert f"lr {lr} (D {2 * lr:g})" in r.stderr
    gan = gk.GAN.load(tmp_path / "grid" / "model.gk")
    assert gan.g_optimizer.lr == pytest.approx(lr) and gan.d_optimizer.lr == pytest.approx(2 * lr)
    r = gankit("train", "--dataset", "ring", "--hidden", "8", "--max-iter", "4", "--d-lr", "3e-3",
               "--final-lr", "1e-4", "--out", "ring", "--no-plot", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    gan = gk.GAN.load(tmp_path / "ring" / "model.gk")
    assert gan.g_optimizer.lr == pytest.approx(cli.DEFAULTS["ring"]["lr"])
    assert gan.d_optimizer.lr == pytest.approx(3e-3)
    # D's schedule ends at the same fraction of its rate as G's.
    assert gan.g_optimizer.final_lr == pytest.approx(1e-4)
    assert gan.d_optimizer.final_lr == pytest.approx(1e-4 * 3e-3 / cli.DEFAULTS["ring"]["lr"])


@pytest.mark.parametrize("args, message", [
    (["train", "--dataset", "moons"], "invalid choice"),
    (["train", "--max-iter", "0"], "--max-iter: expected a positive integer"),
    (["train", "--hidden", "12,x"], "--hidden"),
    (["train", "--g-hidden", "0"], "--g-hidden: expected comma-separated positive integers"),
    (["train", "--d-hidden", ""], "--d-hidden: expected comma-separated positive integers"),
    (["train", "--g-activation", "swish"], "invalid choice"),
    (["train", "--lr", "-1", "--max-iter", "1", "--no-plot"], "lr"),
    (["train", "--d-lr", "0", "--max-iter", "1", "--no-plot"], "--d-lr: expected a positive learning rate, got 0.0"),
    (["train", "--d-lr", "nan", "--max-iter", "1", "--no-plot"], "--d-lr: expected a positive learning rate"),
    (["train", "--pack", "0"], "--pack: expected a positive integer"),
    (["train", "--pack", "3", "--batch-size", "256"], "--batch-size: expected a multiple of --pack 3, got 256"),
    (["train", "--ema", "1.5", "--max-iter", "1", "--no-plot"], "ema: expected 0 <= ema < 1"),
    (["train", "--lr-schedule", "constant", "--final-lr", "0.1"], "--final-lr: only used with"),
    (["train", "--final-lr", "1", "--max-iter", "1", "--no-plot"], "final_lr: expected 0 <= final_lr <="),
    (["sample", "nope.gk", "--out", "x.npy"], "nope.gk: no such file"),
    (["sample", "bad.gk", "--out", "x.npy"], "bad.gk"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_arguments_and_files_give_a_one_line_error(tmp_path, args, message):
    (tmp_path / "bad.gk").write_bytes(b"garbage" * 20)
    r = gankit(*args, cwd=tmp_path)
    assert r.returncode != 0
    assert message in r.stderr
    assert "Traceback" not in r.stderr


def test_each_network_takes_its_own_sizes_and_activation(tmp_path):
    import gankit as gk
    common = ("--max-iter", "3", "--batch-size", "32", "--no-plot", "--quiet")
    r = gankit("train", "--dataset", "grid", "--out", "default", *common, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    gan = gk.GAN.load(tmp_path / "default" / "model.gk")
    grid = cli_defaults("grid")
    assert gan.G.sizes == [2, *grid["g_hidden"], 2] and gan.D.sizes == [2, *grid["d_hidden"], 1]
    assert (gan.G.activation, gan.D.activation) == (grid["g_activation"], grid["d_activation"])
    r = gankit("train", "--dataset", "ring", "--out", "own", "--hidden", "12", "--d-hidden", "10,6",
               "--activation", "tanh", "--g-activation", "leaky_relu", *common, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    gan = gk.GAN.load(tmp_path / "own" / "model.gk")
    assert gan.G.sizes == [2, 12, 2] and gan.D.sizes == [2, 10, 6, 1]
    assert (gan.G.activation, gan.D.activation) == ("leaky_relu", "tanh")


def test_help_explains_every_option(tmp_path):
    r = gankit("train", "--help", cwd=tmp_path)
    assert r.returncode == 0
    for flag in ("--dataset", "--g-loss", "--d-steps", "--max-iter", "--min-loss", "--equilibrium-tol",
                 "--checkpoint-every", "--resume", "--out", "--seed", "--threads", "--pack", "--ema",
                 "--lr-schedule", "--final-lr", "--activation", "--g-activation", "--d-activation",
                 "--g-hidden", "--d-hidden", "--precision", "--lr", "--d-lr"):
        assert flag in r.stdout


def test_train_arch_paper_builds_the_papers_networks(tmp_path):
    r = gankit("train", "--dataset", "ring", "--arch", "paper", "--max-iter", "3", "--batch-size", "32",
               "--out", "run", "--no-plot", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "arch paper (G [2, 400, 400, 400, 400, 2] relu + batch norm, D [2, 200, 200, 200, 1] maxout 5)" in r.stderr
    import gankit as gk
    gan = gk.GAN.load(tmp_path / "run" / "model.gk")
    assert gan.G.batch_norm and gan.G.activation == "relu" and gan.G.sizes == [2, 400, 400, 400, 400, 2]
    assert gan.D.activation == "maxout" and gan.D.pieces == 5 and not gan.D.batch_norm
    for args, message in ((["--dataset", "gaussian_1d"], "--arch paper: the PacGAN/VEEGAN networks are defined for ring and grid"),
                          (["--hidden", "16"], "--hidden: not used with --arch paper"),
                          (["--d-activation", "relu"], "--d-activation: not used with --arch paper")):
        r = gankit("train", "--arch", "paper", *args, "--max-iter", "1", cwd=tmp_path)
        assert r.returncode != 0 and message in r.stderr and "Traceback" not in r.stderr
