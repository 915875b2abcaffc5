"""The throughput benchmark (gankit.bench.speed): its FLOP count, that every framework's
iteration does the same work as gankit's, and that the benchmark runs end to end.

Nothing here times anything: speed is what the benchmark reports, not what a test asserts."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gankit as gk
from gankit.bench import speed
from gankit.bench.speed import numpy as speed_numpy
from gankit.bench.speed import options, running
from gankit.bench.speed.report import markdown_report
from gankit.bench.speed.configs import (BETA1, BETA2, CONFIGS, EPS, LEARNING_RATE, Config,
                                        initial_state, minimal_flops, parse_config_names)

ADAM = gk.Adam(lr=LEARNING_RATE, beta1=BETA1, beta2=BETA2, eps=EPS)


# -- the FLOP count ------------------------------------------------------------------------
def test_flops_formula_matches_a_hand_count():
    # G 2->3->4, D 4->5->1, B = 2; each product 2*m*n*k.
    # D step: G forward on 2 rows: 2*2*2*3 + 2*2*3*4 = 24 + 48 = 72
    #         D forward on 4 rows: 2*4*4*5 + 2*4*5*1 = 160 + 40 = 200; D weight grads: 200
    #         D input grads except the first layer, 4 rows: 2*4*1*5 = 40          -> 512
    # G step: G forward 72; D forward on 2 rows: 80 + 20 = 100; D input grads, all layers: 100
    #         G weight grads 72; G input grads except the first layer: 2*2*4*3 = 48 -> 392
    tiny = Config("hand", (2, 3, 4), (4, 5, 1), 2)
    assert minimal_flops(tiny) == 512 + 392


def products_of_one_iteration(config):
    """Every (rows, fan_in, fan_out) product of the minimal iteration, listed one by one."""
    g = list(zip(config.g_sizes[:-1], config.g_sizes[1:]))
    d = list(zip(config.d_sizes[:-1], config.d_sizes[1:]))
    b = config.batch
    d_step = ([(b, i, o) for i, o in g] + [(2 * b, i, o) for i, o in d] * 2
              + [(2 * b, i, o) for i, o in d[1:]])
    g_step = ([(b, i, o) for i, o in g] + [(b, i, o) for i, o in d] * 2 + [(b, i, o) for i, o in g]
              + [(b, i, o) for i, o in g[1:]])
    return d_step + g_step


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_flops_formula_matches_the_products_listed_one_by_one(name):
    config = CONFIGS[name]
    assert minimal_flops(config) == sum(2 * m * n * k for m, n, k in products_of_one_iteration(config))


def test_configs_are_as_specified():
    assert CONFIGS["toy2d"].g_sizes == (2, 128, 128, 2) and CONFIGS["toy2d"].batch == 256
    assert CONFIGS["digits"].d_sizes == (64, 256, 128, 1) and CONFIGS["digits"].batch == 128
    assert CONFIGS["mnist64"].g_sizes == (100, 256, 512, 1024, 784) and CONFIGS["mnist64"].g_output == "tanh"
    assert CONFIGS["mnist256"].batch == 256 and CONFIGS["mnist256"].d_sizes == (784, 512, 256, 1)
    assert minimal_flops(CONFIGS["toy2d"]) == 102_891_520
    assert parse_config_names("all") == ["toy2d", "digits", "mnist64", "mnist256"]
    with pytest.raises(ValueError, match="--configs: expected"):
        parse_config_names("mnist,toy2d")


# -- the NumPy baseline does gankit's work -------------------------------------------------
def gankit_gan(config, g_weights, d_weights):
    G = gk.MLP(list(config.g_sizes), activation="leaky_relu", output=config.g_output)
    D = gk.MLP(list(config.d_sizes), activation="leaky_relu")
    G.set_weights(g_weights)
    D.set_weights(d_weights)
    return gk.GAN(G, D, d_optimizer=ADAM, g_optimizer=ADAM, seed=1)


def flat(weights):
    return np.concatenate([np.concatenate([w.ravel(), b.ravel()]) for w, b in weights])


def assert_same_update(before, ours, theirs, what):
    """Adam's first step moves every parameter by about lr; compare the moves."""
    ours, theirs = flat(ours) - flat(before), flat(theirs) - flat(before)
    np.testing.assert_allclose(theirs, ours, rtol=2e-3, atol=2e-3 * LEARNING_RATE, err_msg=what)
    assert np.abs(ours).max() > 0.5 * LEARNING_RATE, f"{what}: nothing moved"


@settings(max_examples=15)
@given(g_hidden=st.lists(st.sampled_from([1, 3, 16, 17, 64]), min_size=1, max_size=2),
       d_hidden=st.lists(st.sampled_from([1, 5, 16, 31]), min_size=1, max_size=2),
       noise_dim=st.sampled_from([1, 2, 7]), data_dim=st.sampled_from([1, 2, 13]),
       batch=st.sampled_from([1, 3, 32, 37]), tanh=st.booleans())
def test_numpy_step_matches_gankit_step(g_hidden, d_hidden, noise_dim, data_dim, batch, tanh):
    config = Config("t", (noise_dim, *g_hidden, data_dim), (data_dim, *d_hidden, 1), batch,
                    "tanh" if tanh else None)
    g_weights, d_weights, real = initial_state(config, seed=3)
    rng = np.random.default_rng(4)
    z_d, z_g = (rng.standard_normal((batch, noise_dim)).astype(np.float32) for _ in range(2))
    ours = gankit_gan(config, g_weights, d_weights)
    theirs = speed_numpy.NumpyGAN(g_weights, d_weights, config.g_output)

    expected, got = ours.d_step(real, z_d), theirs.d_step(real, z_d)
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(np.concatenate([g.ravel() for g in theirs.D.grads]), ours.D.grads,
                               rtol=1e-3, atol=1e-5 * max(1.0, float(np.abs(ours.D.grads).max())))
    expected, got = ours.g_step(z_g), theirs.g_step(z_g)
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(np.concatenate([g.ravel() for g in theirs.G.grads]), ours.G.grads,
                               rtol=1e-3, atol=1e-5 * max(1.0, float(np.abs(ours.G.grads).max())))

    numpy_weights = [list(zip(net.weights, net.biases)) for net in (theirs.G, theirs.D)]
    assert_same_update(g_weights, ours.G.get_weights(), numpy_weights[0], "G")
    assert_same_update(d_weights, ours.D.get_weights(), numpy_weights[1], "D")
    assert all(p.dtype == np.float32 for net in (theirs.G, theirs.D) for p in net.parameters() + net.grads)
    assert all(a.dtype == np.float32 for net in (theirs.g_opt, theirs.d_opt) for a in net.m + net.v)


# -- the other frameworks do the NumPy baseline's work ----------------------------------------
CHECK = Config("check", (7, 33, 17, 5), (5, 29, 13, 1), 19, "tanh")


def numpy_reference(z_d, z_g):
    g_weights, d_weights, real = initial_state(CHECK, seed=0)
    gan = speed_numpy.NumpyGAN(g_weights, d_weights, CHECK.g_output)
    d_loss, g_loss = gan.d_step(real, z_d)[0], gan.g_step(z_g)[0]
    weights = [list(zip(net.weights, net.biases)) for net in (gan.G, gan.D)]
    return (g_weights, d_weights), (float(d_loss), float(g_loss)), weights


def assert_iteration_matches_numpy(module, z_d, z_g):
    before, losses, expected = numpy_reference(z_d, z_g)
    iteration = module.make_iteration(CHECK, *before, initial_state(CHECK, seed=0)[2], 0)
    got = [float(x) for x in iteration()]
    np.testing.assert_allclose(got, losses, rtol=2e-5)
    for name, start, theirs, ours in zip("GD", before, iteration.weights(), expected):
        assert_same_update(start, ours, theirs, name)


def test_numpy_benchmark_iteration_draws_d_noise_then_g_noise():
    rng = np.random.default_rng(0)
    z_d, z_g = (rng.standard_normal((CHECK.batch, CHECK.noise_dim), dtype=np.float32) for _ in range(2))
    assert_iteration_matches_numpy(speed_numpy, z_d, z_g)


def test_gankit_benchmark_iteration_matches_numpy():
    from gankit.bench.speed import gankit as speed_gankit
    g_weights, d_weights, real = initial_state(CHECK, seed=0)
    # A GAN with the iteration's seed draws the noise that d_step and g_step will draw.
    noise = gankit_gan(CHECK, g_weights, d_weights)
    z_d = noise.noise(CHECK.batch)
    z_g = noise.noise(CHECK.batch)
    iteration = speed_gankit.make_iteration(CHECK, g_weights, d_weights, real, 1)
    before, losses, expected = numpy_reference(z_d, z_g)
    np.testing.assert_allclose([float(x) for x in iteration()], losses, rtol=2e-5)
    for name, start, theirs, ours in zip("GD", before, iteration.weights(), expected):
        assert_same_update(start, ours, theirs, name)


def test_torch_iteration_matches_numpy():
    torch = pytest.importorskip("torch")
    from gankit.bench.speed import torch as speed_torch
    speed_torch.setup_threads(1)
    generator = torch.Generator().manual_seed(0)
    z_d, z_g = (torch.empty(CHECK.batch, CHECK.noise_dim).normal_(generator=generator).numpy()
                for _ in range(2))
    assert_iteration_matches_numpy(speed_torch, z_d, z_g)


def test_jax_iteration_matches_numpy():
    jax = pytest.importorskip("jax")
    from gankit.bench.speed import jax as speed_jax
    _, key_d, key_g = jax.random.split(jax.random.key(0), 3)
    z_d, z_g = (np.asarray(jax.random.normal(k, (CHECK.batch, CHECK.noise_dim), np.float32))
                for k in (key_d, key_g))
    assert_iteration_matches_numpy(speed_jax, z_d, z_g)


# -- the benchmark end to end ----------------------------------------------------------------
def test_quick_run_writes_json_and_markdown(tmp_path, capsys):
    out, md = tmp_path / "speed.json", tmp_path / "speed.md"
    status = speed.main(["--quick", "--configs", "tiny", "--frameworks", "gankit,numpy", "--threads", "1",
                         "--seconds", "0.02", "--rounds", "2", "--warmup", "0",
                         "--json", str(out), "--markdown", str(md)])
    assert status == 0
    report = json.loads(out.read_text())
    rows = {r["framework"]: r for r in report["results"]}
    assert set(rows) == {"gankit", "numpy"}
    for row in rows.values():
        assert row["config"] == "tiny" and row["threads"] == 1 and len(row["its_per_round"]) == 2
        assert row["median_its"] > 0 and row["best_its"] >= row["median_its"]
        assert row["median_gflops"] == pytest.approx(row["median_its"] * minimal_flops(CONFIGS["tiny"]) * 1e-9)
        assert row["other_jobs_cores"] >= 0 and row["idle_workers_cpu_fraction"] >= 0
    assert report["fma_peak_gflops_per_core"] > 0
    assert report["comparisons"] == [{"config": "tiny", "threads": 1, "ratio": None, "against": None}]
    assert report["flops"]["per_iteration"] == {"tiny": minimal_flops(CONFIGS["tiny"])}
    assert report["frameworks"]["gankit"]["thread_setup"] == {"1": "gk.set_num_threads(1)"}
    assert "gankit bench speed --quick --configs tiny" in report["command"]
    printed = capsys.readouterr().out
    assert "| tiny | 1 |" in printed and md.read_text().strip() == printed.strip()


def test_multithreaded_runs_report_the_barrier_between_the_threads(tmp_path):
    """Before each run at 2 threads the parent times one barrier between 2 threads: a
    positive time per round, its median in the row, and the note under the table; at 1
    thread none (nothing to meet)."""
    out = tmp_path / "speed.json"
    assert speed.main(["--quick", "--configs", "tiny", "--frameworks", "gankit", "--threads", "1,2",
                       "--seconds", "0.02", "--rounds", "3", "--warmup", "0", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    rows = {r["threads"]: r for r in report["results"]}
    assert rows[1]["barrier_us"] is None and rows[1]["barrier_us_per_round"] == [None] * 3
    if not gk.build_info()["openmp"]:
        assert rows[2]["barrier_us"] is None
        return
    per_round = rows[2]["barrier_us_per_round"]
    assert len(per_round) == 3 and all(0 < b < 10_000 for b in per_round)
    assert rows[2]["barrier_us"] == pytest.approx(sorted(per_round)[1])
    text = markdown_report(report)
    assert "Barrier: one OpenMP barrier between the threads" in text and "of 3 runs." in text


def test_missing_framework_is_reported_and_skipped(tmp_path, monkeypatch):
    monkeypatch.setattr(running, "is_installed", lambda name: name != "numpy")
    out = tmp_path / "speed.json"
    assert speed.main(["--configs", "tiny", "--frameworks", "gankit,numpy", "--threads", "1",
                       "--seconds", "0.02", "--rounds", "1", "--warmup", "0", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["frameworks"]["numpy"]["status"] == "not installed"
    assert [r["framework"] for r in report["results"]] == ["gankit"]


@pytest.mark.parametrize("argv, message", [
    (["--configs", "mnist"], "--configs: expected"),
    (["--frameworks", "gankit,tensorflow"], "--frameworks: expected"),
    (["--threads", "0"], "--threads: expected"),
    (["--rounds", "0"], "--rounds: expected a positive integer"),
    (["--seconds", "-1"], "--seconds must be > 0"),
    (["--precision", "fp16"], "--precision: expected fp32, bf16 or fp32,bf16, got fp16"),
    (["--precision", "bf16", "--frameworks", "numpy,jax"], "none of --frameworks numpy,jax has a bf16 variant"),
])
def test_bad_options_exit_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        options.parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("usable, threads, expected", [
    ({0, 1}, 1, [0]), ({0, 1}, 2, None), ({0, 1}, 4, None), (set(range(16)), 2, [0, 1]), ({3, 5, 9}, 2, [3, 5]),
])
def test_jax_is_pinned_to_as_many_cpus_as_threads_when_there_are_more(usable, threads, expected, monkeypatch):
    monkeypatch.setattr(running.os, "sched_getaffinity", lambda pid: usable, raising=False)
    assert running.jax_cpus(threads) == expected


def test_worker_environment_sets_thread_pools_and_one_thread_xla_flags(monkeypatch):
    from gankit.bench.speed.client import worker_environment
    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/x")
    env = worker_environment("jax", 1)
    assert env["XLA_FLAGS"] == "--xla_dump_to=/tmp/x --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    assert env["JAX_PLATFORMS"] == "cpu" and env["OMP_NUM_THREADS"] == "1"
    env = worker_environment("torch", 2)
    assert env["XLA_FLAGS"] == "--xla_dump_to=/tmp/x"  # only JAX at one thread gets the flags
    assert env["OPENBLAS_NUM_THREADS"] == env["MKL_NUM_THREADS"] == env["OMP_NUM_THREADS"] == "2"


def test_worker_reports_a_failed_request_and_keeps_serving():
    from gankit.bench.speed.client import Worker, WorkerError
    worker = Worker("numpy", 1)
    try:
        with pytest.raises(WorkerError, match="numpy worker .*KeyError: 'no-such-config'"):
            worker.request(60, op="prepare", config="no-such-config", warmup=0)
        worker.request(60, op="prepare", config="tiny", warmup=0)
        run = worker.request(60, op="run", config="tiny", seconds=0.01)
        assert run["iterations"] >= 1 and run["seconds"] >= 0.01 and worker.cpu_seconds() > 0
    finally:
        worker.close()


def test_gankit_cli_dispatches_to_the_benchmark(tmp_path, capsys):
    from gankit import cli
    out = tmp_path / "speed.json"
    assert cli.main(["bench", "speed", "--configs", "tiny", "--frameworks", "gankit", "--threads", "1",
                     "--seconds", "0.01", "--rounds", "1", "--warmup", "0", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["results"][0]["framework"] == "gankit"
    assert "| tiny | 1 |" in capsys.readouterr().out


# -- bf16 ------------------------------------------------------------------------------------
BF16 = gk._core.gemm_bf16_kernel()
needs_bf16 = pytest.mark.skipif(not BF16, reason="this CPU has no bf16 kernel (no AVX512-BF16)")


def test_precision_adds_the_bf16_variants_of_gankit_and_torch(capsys):
    if not BF16:
        with pytest.raises(SystemExit):
            options.parse_args(["--precision", "fp32,bf16"])
        assert "no bf16 kernel" in capsys.readouterr().err
        return
    assert options.parse_args(["--precision", "fp32,bf16"]).frameworks == \
        ["gankit", "numpy", "torch", "jax", "gankit_bf16", "torch_bf16"]
    assert options.parse_args(["--precision", "bf16", "--frameworks", "gankit,jax"]).frameworks == ["gankit_bf16"]


@needs_bf16
@pytest.mark.parametrize("framework", ["gankit", "torch"])
def test_bf16_iterations_stay_within_bf16_of_the_float32_step(framework):
    """The bf16 variants do the fp32 iteration's work with operands rounded to bf16:
    their losses stay within bf16's reach of NumPy's float32 step, and so do the updates.
    Adam's first step moves each weight by lr times the sign of its gradient, so a weight
    whose gradient is near zero may move the other way (2 lr apart); almost all agree."""
    if framework == "torch":
        torch = pytest.importorskip("torch")
        from gankit.bench.speed import torch as module
        module.setup_threads(1)
        generator = torch.Generator().manual_seed(0)
        z_d, z_g = (torch.empty(CHECK.batch, CHECK.noise_dim).normal_(generator=generator).numpy()
                    for _ in range(2))
    else:
        from gankit.bench.speed import gankit as module
        noise = gankit_gan(CHECK, *initial_state(CHECK, seed=0)[:2])
        z_d, z_g = noise.noise(CHECK.batch), noise.noise(CHECK.batch)
    before, losses, expected = numpy_reference(z_d, z_g)
    seed = 1 if framework == "gankit" else 0
    iteration = module.make_iteration(CHECK, *before, initial_state(CHECK, seed=0)[2], seed, precision="bf16")
    got = [float(x) for x in iteration()]
    np.testing.assert_allclose(got, losses, rtol=2e-2)
    starts, steps, steps_ref = [], [], []
    for start, theirs, ours in zip(before, iteration.weights(), expected):
        for layer_start, layer, layer_ref in zip(start, theirs, ours):
            for a0, a, a_ref in zip(layer_start, layer, layer_ref):
                steps.append((a - a0).ravel())
                steps_ref.append((a_ref - a0).ravel())
    gap = np.abs(np.concatenate(steps) - np.concatenate(steps_ref))
    assert np.all(gap <= 2.01 * LEARNING_RATE) and np.mean(gap <= 0.5 * LEARNING_RATE) >= 0.97


@needs_bf16
def test_a_bf16_run_reports_the_bf16_ratios(tmp_path):
    out = tmp_path / "speed.json"
    assert speed.main(["--quick", "--configs", "tiny", "--frameworks", "gankit", "--threads", "1",
                       "--seconds", "0.02", "--rounds", "2", "--warmup", "0", "--precision", "fp32,bf16",
                       "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert {r["framework"] for r in report["results"]} == {"gankit", "gankit_bf16"}
    (comparison,) = report["comparisons"]
    assert comparison["bf16_ratio_vs_gankit_fp32"] > 0 and comparison["bf16_ratio_vs_torch_bf16"] is None
    assert report["settings"]["precision"] == "fp32,bf16"
