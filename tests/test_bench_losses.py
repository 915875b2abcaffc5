"""The generator-loss benchmark (gankit.bench.losses): the gradient view against the
closed forms, the table's statistics and time-to-threshold on synthetic records, a
tiny end-to-end run whose outputs agree with each other, and reproducibility."""
import json
import math
import subprocess
import sys

import numpy as np
import pytest

import gankit as gk
from gankit.bench import losses as bench
from gankit.bench.losses import options, report, setup
from gankit.bench.losses.gradients import logit_grid, loss_curves
from gankit.bench.losses.probe import ProbeSpec, probe_one, summarize_probes
from gankit.bench.losses.running import EVAL_TIMING, block_means, failed_record, run_all, run_one
from gankit.bench.losses.setup import DATASETS, Architecture, Network, RunSpec, architecture
from gankit.bench.losses.summary import censored_median, mean_std, summarize_variant, time_to_threshold
from gankit.sweeps import choose_backend

RING = DATASETS["ring"]
SMALL = Architecture(Network((16, 16), (("activation", "leaky_relu"),)),
                     Network((16, 16), (("activation", "leaky_relu"),)),
                     noise_dim=2, batch_size=64, lr=1e-3)


def small_spec(g_loss="non_saturating", seed=0, eval_every=20, max_iter=60, d_steps=1, dataset="ring"):
    return RunSpec(dataset, g_loss, d_steps, seed, max_iter, eval_every, eval_samples=300,
                   grad_dense=30, grad_every=10, arch="test", architecture=SMALL, n_data=2000)


# -- the gradient view ------------------------------------------------------------------
def test_gradient_view_matches_the_closed_forms():
    logits = logit_grid()
    d = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
    mm = loss_curves("minimax", logits)
    ns = loss_curves("non_saturating", logits)
    np.testing.assert_allclose(mm["d"], d, rtol=1e-12)
    # dL/dD from the kernel's dL/dlogit: minimax -1/(1 - D), non-saturating -1/D.
    np.testing.assert_allclose(mm["d_d"], -1.0 / (1.0 - d), rtol=1e-5)
    np.testing.assert_allclose(ns["d_d"], -1.0 / d, rtol=1e-5)
    np.testing.assert_allclose(mm["d_logit"], -d, rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(ns["d_logit"], -(1.0 - d), rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(mm["loss"], np.log1p(-d), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(ns["loss"], -np.log(d), rtol=1e-6, atol=1e-12)


def test_gradient_view_shows_the_saturation():
    rejected = logit_grid()[:5]  # D(G(z)) ~ 1e-5: D rejects the fakes confidently
    assert np.all(np.abs(loss_curves("minimax", rejected)["d_logit"]) < 2e-5)
    assert np.all(np.abs(loss_curves("non_saturating", rejected)["d_logit"]) > 0.9999)


# -- statistics on synthetic records ------------------------------------------------------
def test_mean_std_uses_the_sample_std_and_skips_missing_values():
    s = mean_std([1.0, 2.0, None, 3.0, 4.0, math.nan])
    assert s["mean"] == pytest.approx(2.5) and s["n"] == 4
    assert s["std"] == pytest.approx(np.std([1, 2, 3, 4], ddof=1))
    assert mean_std([7.0]) == {"mean": 7.0, "std": None, "n": 1}
    assert mean_std([None]) == {"mean": None, "std": None, "n": 0}


def evals(*rows):
    return [{"iteration": it, "train_seconds": sec, "train_cpu_seconds": sec / 2, "modes_captured": m,
             "high_quality_fraction": hq, "reverse_kl": 0.1} for it, sec, m, hq in rows]


def test_time_to_threshold_is_the_first_evaluation_meeting_every_condition():
    e = evals((0, 0.0, 0, 0.0), (100, 1.0, 8, 0.2), (200, 2.0, 7, 0.9), (300, 3.0, 8, 0.5), (400, 4.0, 8, 0.9))
    # 200 has the quality but not all modes; 300 is the first with both (0.5 >= 0.5).
    assert time_to_threshold(e, RING) == (300, 3.0, 1.5)
    assert time_to_threshold(e[:3], RING) == (None, None, None)
    assert time_to_threshold([], RING) == (None, None, None)


def test_censored_median_counts_never_reached_as_later_than_any():
    assert censored_median([100, None, 300]) == 300
    assert censored_median([100, 200]) == 150
    assert censored_median([None, None, 100]) is None
    assert censored_median([100, None]) is None
    assert censored_median([]) is None


def synthetic_record(seed, reach_at, final_hq, stop="max_iter", error=None):
    rows = [(0, 0.0, 0, 0.0)] + [(it, it / 100, 8, 0.6 if reach_at and it >= reach_at else 0.1)
                                 for it in (100, 200, 300)]
    e = evals(*rows)
    e[-1]["high_quality_fraction"] = final_hq if reach_at else 0.1
    return {"spec": {"dataset": "ring", "g_loss": "minimax", "d_steps": 2, "seed": seed},
            "stop_reason": stop, "iterations": 300, "train_seconds": 3.0 + seed,
            "train_cpu_seconds": 1.0 + seed, "error": error, "evals": e,
            "final": {k: v for k, v in e[-1].items() if k not in EVAL_TIMING},
            "early": {"iterations": 30, "d_fake_mean": 0.4, "grad_norm_median": 0.1 * (seed + 1)}}


def test_variant_summary_and_its_table_row():
    records = [synthetic_record(0, 100, 0.7), synthetic_record(1, 300, 0.9),
               synthetic_record(2, None, None), synthetic_record(3, None, None, "error", "Traceback")]
    row = summarize_variant(records, RING)
    assert row["failed"] == 1 and row["stop_reasons"] == {"max_iter": 3, "error": 1}
    t = row["threshold"]
    assert (t["reached"], t["runs"]) == (2, 3)
    assert t["iterations"] == [100, 300, None] and t["median_iterations"] == 300
    assert t["median_seconds"] == pytest.approx(3.0) and t["median_cpu_seconds"] == pytest.approx(1.5)
    hq = row["final"]["high_quality_fraction"]
    assert hq["mean"] == pytest.approx(np.mean([0.7, 0.9, 0.1]))
    assert hq["std"] == pytest.approx(np.std([0.7, 0.9, 0.1], ddof=1))
    assert row["train_seconds"]["mean"] == pytest.approx(4.0)  # the failed run is left out
    assert row["train_cpu_seconds"]["mean"] == pytest.approx(2.0)

    line = report.variant_table([row], RING.metrics, 300)[2]
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[:2] == ["minimax", "2"]
    assert cells[3] == f"{100 * hq['mean']:.1f} ± {100 * hq['std']:.1f}%"
    assert cells[5:8] == ["2/3", "300", "3.0 / 1.5"]
    assert cells[8] == "4.0 ± 1.0 / 2.0 ± 1.0"
    assert cells[-1] == "error ×1, max_iter ×3"

    never = summarize_variant([synthetic_record(0, None, None), synthetic_record(1, None, None)], RING)
    cells = [c.strip() for c in report.variant_table([never], RING.metrics, 300)[2].strip("|").split("|")]
    assert cells[5:8] == ["0/2", "> 300", "> budget"]


def test_block_means_cover_every_iteration():
    columns = {"a": np.arange(1, 26, dtype=float)}
    out = block_means(columns, points=10)  # 25 values: blocks of 3, the last one shorter
    assert out["every"] == 3 and out["iteration"][-1] == 25 and len(out["iteration"]) == 9
    assert out["a"][0] == pytest.approx(2.0) and out["a"][-1] == pytest.approx(25.0)
    assert block_means(columns, points=100)["a"] == list(columns["a"])


# -- runs ---------------------------------------------------------------------------------
def without_timings(record):
    r = {k: v for k, v in record.items()
         if k not in ("train_seconds", "train_cpu_seconds", "wall_seconds", "cpu_seconds", "history")}
    r["evals"] = [{k: v for k, v in e.items() if k not in EVAL_TIMING[1:]} for e in record["evals"]]
    r["history"] = {k: v.tolist() for k, v in record["history"].items()}
    return r


def test_same_seed_gives_identical_results_and_scoring_does_not_perturb_training():
    a, b = run_one(small_spec(seed=3)), run_one(small_spec(seed=3))
    assert without_timings(a) == without_timings(b)
    assert without_timings(a) != without_timings(run_one(small_spec(seed=4)))
    sparse = run_one(small_spec(seed=3, eval_every=60))
    for name, values in a["history"].items():
        np.testing.assert_array_equal(values, sparse["history"][name])
    assert [e["iteration"] for e in a["evals"]] == [0, 20, 40, 60]
    assert [e["iteration"] for e in sparse["evals"]] == [0, 60]
    assert without_timings(a)["evals"][-1] == without_timings(sparse)["evals"][-1]


def test_run_records_the_gradient_norm_densely_then_sparsely():
    r = run_one(small_spec(max_iter=60))
    assert r["grad_norm"]["iteration"] == list(range(1, 31)) + [40, 50, 60]
    assert all(v > 0 and math.isfinite(v) for v in r["grad_norm"]["value"])
    assert r["early"]["d_fake_mean"] == pytest.approx(np.mean(r["history"]["d_fake"][:30]))
    assert r["early"]["grad_norm_median"] == pytest.approx(np.median(r["grad_norm"]["value"][:30]))


def test_parallel_workers_give_the_same_numbers_as_one_process():
    specs = [small_spec("minimax", seed=1), small_spec("non_saturating", seed=1)]
    tasks = [(run_one, failed_record, s) for s in specs]
    serial = run_all(tasks, choose_backend(jobs=1), log=sys.stderr)
    parallel = run_all(tasks, choose_backend(jobs=2), log=sys.stderr)
    assert [without_timings(r) for r in serial] == [without_timings(r) for r in parallel]
    assert [r["spec"]["g_loss"] for r in parallel] == ["minimax", "non_saturating"]


def test_a_failing_run_is_recorded_not_raised():
    bad = RunSpec("ring", "minimax", 1, 0, 10, 5, 100, 5, 5, "test",
                  Architecture(Network((4,)), Network((4,)), noise_dim=2, batch_size=10**6, lr=1e-3),
                  n_data=100)  # a batch larger than the data: GAN.fit refuses it
    [record] = run_all([(run_one, failed_record, bad)], choose_backend(jobs=1))
    assert record["stop_reason"] == "error" and "batch_size" in record["error"]


def test_saturation_probe_pairs_the_losses_and_shows_the_vanishing_gradient():
    spec = ProbeSpec("ring", 0, 1000, "test", SMALL, n_data=2000, probe_samples=256)
    p = probe_one(spec)
    assert p["paired"] and p["d_steps"] == [0, 1, 3, 10, 30, 100, 300, 1000]
    mm, ns = np.array(p["grad_norm"]["minimax"]), np.array(p["grad_norm"]["non_saturating"])
    # Untrained D: D(G(z)) ~ 1/2, where both losses weigh every sample alike.
    assert p["d_fake"][0] == pytest.approx(0.5, abs=0.05)
    assert mm[0] == pytest.approx(ns[0], rel=0.1)
    # Once D rejects the fakes, minimax's gradient is far smaller (Goodfellow et al. 2014).
    assert p["d_fake"][-1] < 0.05 and mm[-1] < 0.2 * ns[-1]
    [row] = [r for r in summarize_probes([p]) if r["d_steps"] == 1000]
    assert row["ratio"] == pytest.approx(mm[-1] / ns[-1])


# -- end to end ---------------------------------------------------------------------------
def test_end_to_end_outputs_agree_with_each_other(tmp_path):
    out = tmp_path / "res"
    status = bench.main(["--datasets", "ring", "--d-steps", "1", "--seeds", "2", "--max-iter", "200",
                         "--eval-every", "50", "--eval-samples", "500", "--jobs", "1",
                         "--probe-steps", "10", "--no-plot", "--out", str(out)])
    assert status == 0
    results = json.loads((out / "results.json").read_text())
    md = (out / "results.md").read_text()
    histories = np.load(out / "histories.npz")

    assert results["config"]["max_iter"] == {"ring": 200} and results["config"]["seeds"] == 2
    assert results["environment"]["build_info"] == gk.build_info()
    assert results["environment"]["numpy"] == np.__version__
    assert "--max-iter 200" in results["command"]
    runs = results["runs"]
    assert [(r["spec"]["g_loss"], r["spec"]["seed"]) for r in runs] == [
        ("non_saturating", 0), ("non_saturating", 1), ("minimax", 0), ("minimax", 1)]
    for i, r in enumerate(runs):
        assert r["error"] is None and r["stop_reason"] == "max_iter" and r["iterations"] == 200
        assert [e["iteration"] for e in r["evals"]] == [0, 50, 100, 150, 200]
        assert r["final"] == {k: v for k, v in r["evals"][-1].items() if k not in EVAL_TIMING}
        assert 0 < r["train_cpu_seconds"] <= r["cpu_seconds"]
        d_fake = histories[f"run{i}.d_fake"]
        assert d_fake.shape == (200,)
        assert r["trace"]["d_fake"] == pytest.approx([float(d_fake[j]) for j in range(200)])
        assert r["early"]["d_fake_mean"] == pytest.approx(d_fake.mean())
    assert len(results["probes"]) == 2 and all(p["paired"] for p in results["probes"])

    assert [(s["g_loss"], s["d_steps"]) for s in results["summary"]] == [("non_saturating", 1), ("minimax", 1)]
    for s, pair in zip(results["summary"], (runs[:2], runs[2:])):
        for metric in ("modes_captured", "high_quality_fraction", "reverse_kl"):
            values = [r["final"][metric] for r in pair]
            assert s["final"][metric]["mean"] == pytest.approx(np.mean(values))
            assert s["final"][metric]["std"] == pytest.approx(np.std(values, ddof=1))
        reached = [time_to_threshold(r["evals"], RING)[0] for r in pair]
        assert s["threshold"]["iterations"] == reached
        # The Markdown row is the JSON summary, formatted.
        row = report.variant_table([s], RING.metrics, 200)[2]
        assert row in md
        assert report.format_mean_std(s["final"]["reverse_kl"], ".3f") in row
    assert "### ring" in md and "Saturation probe" in md


def test_replot_redraws_the_figures_from_results_json(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "res"
    assert bench.main(["--datasets", "ring", "--d-steps", "1", "--seeds", "1", "--max-iter", "40",
                       "--eval-every", "20", "--eval-samples", "200", "--jobs", "1", "--grad-iters", "20",
                       "--probe-steps", "3", "--no-plot", "--out", str(out)]) == 0
    assert not list(out.glob("*.png"))
    assert bench.main(["--replot", "--out", str(out)]) == 0
    pngs = {p.name for p in out.glob("*.png")}
    assert {"scores_ring.png", "samples_ring.png", "d_outputs_ring.png", "gradient_view.png",
            "grad_norms.png", "probe.png"} <= pngs
    from PIL import Image  # comes with matplotlib
    for name in pngs:
        with Image.open(out / name) as image:
            assert image.format == "PNG" and image.mode == "P" and min(image.size) > 100
    figures = json.loads((out / "results.json").read_text())["figures"]
    assert {f["file"] for f in figures} == pngs
    assert all(f"`{name}`" in (out / "results.md").read_text() for name in pngs)


# -- options ------------------------------------------------------------------------------
def test_options_resolve_per_dataset_and_quick():
    args = options.build_parser("x").parse_args(["--datasets", "ring,grid", "--max-iter", "grid=70,ring=50"])
    cfg = options.resolve(args)
    assert cfg["max_iter"] == {"ring": 50, "grid": 70} and cfg["d_steps"] == [1, 5] and cfg["seeds"] == 5
    assert cfg["eval_every"] == {"ring": 50, "grid": 70}  # never beyond the budget
    cfg = options.resolve(options.build_parser("x").parse_args(["--quick", "--max-iter", "30"]))
    assert cfg["datasets"] == ["ring", "grid"] and cfg["max_iter"] == {"ring": 30, "grid": 30}
    assert cfg["d_steps"] == [1, 5] and cfg["seeds"] == 2
    assert cfg["eval_every"] == {"ring": 30, "grid": 30}
    assert len(setup.run_specs(cfg)) == 2 * 2 * 2 * 2


@pytest.mark.parametrize("argv", [["--datasets", "moons"], ["--max-iter", "0"], ["--max-iter", "moons=5"],
                                  ["--seeds", "two"], ["--d-steps", "1,0"], ["--jobs", "0"]])
def test_bad_options_are_refused_by_the_parser(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        bench.main(argv)
    assert exc.value.code == 2
    assert argv[0] in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [(["--arch", "nope"], "--arch: expected one of cli, paper"),
                                           (["--probe-steps", "-1"], "--probe-steps"),
                                           (["--eval-samples", "1"], "--eval-samples: expected at least 2"),
                                           (["--replot"], "no ")])
def test_bad_options_give_one_line(argv, message, tmp_path, capsys):
    assert bench.main(argv + ["--out", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_paper_architecture_builds_the_published_networks():
    arch = architecture("paper", "grid")
    assert arch.generator.hidden == (400,) * 4 and arch.discriminator.hidden == (200,) * 3
    G, D = arch.build(2)
    assert G.config()["batch_norm"] and G.activation == "relu"
    assert D.activation == "maxout" and D.config()["pieces"] == 5
    with pytest.raises(ValueError, match="defined for grid, ring only"):
        architecture("paper", "digits")


def test_cli_dispatches_to_the_benchmark():
    r = subprocess.run([sys.executable, "-m", "gankit.cli", "bench", "losses", "--help"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "--quick" in r.stdout and "--d-steps" in r.stdout
