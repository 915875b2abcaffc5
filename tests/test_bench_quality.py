"""The sample-quality benchmark (gankit.bench.quality): recipes and rows, a tiny end-to-end
run whose outputs are complete and agree with each other, reproducibility (the same spec,
and --jobs 2 against --jobs 1), one-line option errors, partial results and --replot."""
import dataclasses
import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import gankit as gk
from gankit.bench import quality
from gankit.bench.quality import command, options, paper, report, running, setup
from gankit.bench.quality.setup import ROWS_BY_NAME, RunSpec, recipe

SMOKE = ["--datasets", "ring", "--rows", "GAN,PacGAN2", "--seeds", "1", "--max-iter", "30", "--no-plot"]
HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


def run_main(out, *extra, jobs=1):
    code = quality.main([*SMOKE, "--jobs", str(jobs), "--out", str(out), *extra])
    assert code == 0
    with open(os.path.join(out, "results.json"), encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture
def one_thread():
    """Runs in this process as run_all makes them: one core thread (conftest restores it)."""
    gk.set_num_threads(1)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("quality")
    return out, run_main(out)


def small_spec(row="GAN", seed=0, max_iter=30, dataset="ring", eval_samples=500) -> RunSpec:
    return RunSpec(dataset, row, seed, recipe(dataset, ROWS_BY_NAME[row], max_iter), eval_samples)


# -- recipes and rows -------------------------------------------------------------------
def test_every_row_override_is_a_recipe_setting():
    fields = set(setup.Recipe.__dataclass_fields__)
    for row in setup.ROWS:
        assert set(dict(row.overrides)) <= fields, row.name
        assert row.base in ("recipe", "cli")
    for dataset, base in setup.BASE_RECIPES.items():
        assert set(base) | set(setup.ROW_DEFAULTS) | {"requested_batch_size", "source"} == fields, dataset


def test_rows_apply_their_overrides_and_give_d_the_base_batch_in_packs():
    base = setup.BASE_RECIPES["ring"]
    gan, averaged, pac3 = (recipe("ring", ROWS_BY_NAME[n]) for n in ("GAN", "GAN + averaging", "PacGAN3"))
    assert (gan.pack, gan.ema, gan.max_iter, gan.lr) == (1, None, base["max_iter"], base["lr"])
    assert gan.batch_size == base["batch_size"]
    assert (averaged.pack, averaged.ema) == (1, 0.999)
    # As in PacGAN's code: D judges the base batch's number of packs, G makes pack times the samples.
    assert pac3.pack == 3 and pac3.requested_batch_size == base["batch_size"]
    assert pac3.batch_size == 3 * base["batch_size"]
    for name in ("PacGAN2", "PacGAN4"):
        r = recipe("grid", ROWS_BY_NAME[name])
        assert r.batch_size == r.pack * setup.BASE_RECIPES["grid"]["batch_size"]
    assert recipe("grid", ROWS_BY_NAME["PacGAN4"], max_iter=7).max_iter == 7


def test_gankit_default_row_is_what_gankit_train_runs(monkeypatch):
    from gankit import cli
    row = ROWS_BY_NAME["gankit default"]
    d = cli.DEFAULTS["grid"]
    r = recipe("grid", row)
    assert (r.g_hidden, r.d_hidden, r.lr, r.max_iter, r.noise_dim) == (
        tuple(d["g_hidden"]), tuple(d["d_hidden"]), d["lr"], d["max_iter"], d["noise_dim"])
    assert r.source == "gankit.cli.DEFAULTS"
    assert (r.beta1, r.ema, r.pack, r.schedule, r.final_lr_ratio, r.g_activation, r.d_activation) == (
        d["beta1"], d["ema"], d["pack"], d["schedule"], d["final_lr_ratio"], d["g_activation"],
        d["d_activation"])
    assert r.d_lr_ratio == d["d_lr_ratio"]
    gan = running.build_gan(RunSpec("grid", row.name, 0, r), 2)
    assert gan.d_optimizer.lr == pytest.approx(r.lr * r.d_lr_ratio)
    assert gan.g_optimizer.lr == pytest.approx(r.lr)
    monkeypatch.setitem(cli.DEFAULTS, "grid", {**d, "pack": 3, "batch_size": 100})
    r = recipe("grid", row)
    assert (r.pack, r.batch_size, r.requested_batch_size) == (3, 300, 100)  # gankit train: 100 packs
    gan = running.build_gan(RunSpec("grid", row.name, 0, r), 2)
    assert gan.D.sizes[0] == 6 and gan.pack == 3


def test_run_spec_round_trips_through_json():
    spec = small_spec("PacGAN3")
    assert RunSpec.from_dict(json.loads(json.dumps(spec.as_dict()))) == spec


def test_results_written_before_d_had_its_own_rate_read_as_equal_rates():
    # A results.json from before d_lr_ratio existed: its runs trained D at G's rate.
    spec = dataclasses.replace(small_spec("GAN"), recipe=dataclasses.replace(small_spec("GAN").recipe,
                                                                              d_lr_ratio=2.0))
    old = spec.as_dict()
    del old["recipe"]["d_lr_ratio"]
    assert RunSpec.from_dict(json.loads(json.dumps(old))).recipe.d_lr_ratio == 1.0
    table = report.recipe_table([{"spec": old}], spec.dataset)
    header = [c.strip() for c in table[0].strip("|").split("|")]
    row = [c.strip() for c in table[2].strip("|").split("|")]
    assert row[header.index("d_lr_ratio")] == "1"


# -- one run ----------------------------------------------------------------------------
def test_same_spec_gives_identical_scores_and_another_seed_does_not(one_thread):
    spec = small_spec("GAN + averaging")
    first, second = running.run_one(spec), running.run_one(spec)
    for key in ("final", "final_raw", "samples", "samples_raw", "iterations", "training_tail"):
        assert first[key] == second[key], key
    assert first["final_raw"] is not None and first["samples_raw"] != first["samples"]
    other = running.run_one(small_spec("GAN + averaging", seed=1))
    assert other["samples"] is None  # only seed 0 keeps its samples
    assert other["training_tail"] != first["training_tail"]  # another seed, another run


def test_scored_samples_come_from_the_fixed_noise_not_the_gans_stream(one_thread):
    spec = small_spec("PacGAN2")
    record = running.run_one(spec)
    data = gk.datasets.load("ring", n=spec.recipe.n, seed=0)
    gan = running.build_gan(spec, 2)
    gan.fit(data, batch_size=spec.recipe.batch_size, d_steps=1, max_iter=spec.recipe.max_iter)
    gan.sample(123)  # drawing from the GAN's own noise changes nothing
    z = running.eval_noise(spec.seed, spec.eval_samples, spec.recipe.noise_dim)
    samples = gan.sample(spec.eval_samples, z=z)
    np.testing.assert_array_equal(np.asarray(record["samples"]), running.rounded(samples))
    assert record["final"] == running.mode_scores(samples, "ring")
    assert len(record["samples"]) == spec.eval_samples


# -- the whole command ------------------------------------------------------------------
def test_smoke_run_writes_complete_consistent_results(smoke):
    out, results = smoke
    assert results["benchmark"] == "quality" and results["status"] == "complete"
    for key in ("command", "started", "finished", "duration_seconds", "environment", "config", "recipes",
                "paper", "reference", "runs", "summary", "figures", "notes"):
        assert key in results, key
    env = results["environment"]
    assert env["gankit"] == gk.__version__ and env["build_info"]["version"] == gk.__version__
    assert env["cpu_model"] and env["platform"]
    assert results["config"]["max_iter"] == 30 and results["config"]["seeds"] == 1
    assert results["command"].endswith(f"--out {out}")
    assert [(r["spec"]["row"], r["spec"]["recipe"]["pack"]) for r in results["runs"]] == [("GAN", 1), ("PacGAN2", 2)]
    for r in results["runs"]:
        assert r["error"] is None and r["stop_reason"] == "max_iter" and r["iterations"] == 30
        assert r["spec"]["recipe"]["max_iter"] == 30 and r["spec"]["eval_samples"] == 2500
        assert r["train_seconds"] > 0 and r["train_cpu_seconds"] > 0 and r["final_raw"] is None
        f = r["final"]
        assert f["modes_total"] == 8 and 0 <= f["modes_captured"] <= 8
        assert 0.0 <= f["high_quality_fraction"] <= 1.0
        assert math.isfinite(f["reverse_kl"]) and f["reverse_kl"] >= 0
        assert len(r["samples"]) == 2500 and np.all(np.isfinite(r["samples"]))
    ref = results["reference"]["ring"]
    assert ref["modes_captured"] == 8 and ref["high_quality_fraction"] > 0.95 and ref["reverse_kl"] < 0.05
    # The table says what the runs scored.
    md = (out / "results.md").read_text(encoding="utf-8")
    for s, r in zip(results["summary"], results["runs"]):
        assert s["row"] == r["spec"]["row"] and s["final"]["modes_captured"]["mean"] == r["final"]["modes_captured"]
        cells = f"| {s['row']} | 1 | {r['final']['modes_captured']:.1f} | " \
                f"{100 * r['final']['high_quality_fraction']:.1f}% | {r['final']['reverse_kl']:.2f} | 30 |"
        assert cells in md
    assert "| GAN | 6.3 ± 0.5 | 98.2 ± 0.2% | 0.45 ± 0.09 |" in md  # the paper's row beside ours
    assert "PacGAN3" in md and "Partial" not in md
    packs = setup.BASE_RECIPES["ring"]["batch_size"]  # the recipe table says what D judged per step
    assert f"| PacGAN2 | 2 | – | {2 * packs} ({packs} packs) |" in md


def test_rows_that_train_alike_are_trained_once_and_reported_under_both():
    specs = [small_spec("GAN + averaging"), small_spec("gankit default"), small_spec("GAN"),
             small_spec("GAN + averaging", seed=1), small_spec("gankit default", seed=1)]
    assert specs[0].recipe.source != specs[1].recipe.source  # told apart only by where they come from
    assert running.same_runs(specs) == {0: [1], 2: [], 3: [4]}


def test_a_shared_run_is_filed_under_each_row(tmp_path):
    results = run_main(tmp_path, "--rows", "GAN + averaging,gankit default")
    averaged, default = results["runs"]
    assert (averaged["spec"]["row"], default["spec"]["row"]) == ("GAN + averaging", "gankit default")
    assert default["same_run_as"] == averaged["label"] and "same_run_as" not in averaged
    assert default["label"] == "ring gankit default seed 0"
    assert default["final"] == averaged["final"] and default["samples"] == averaged["samples"]
    md = (tmp_path / "results.md").read_text(encoding="utf-8")
    assert "2 runs (1 of them the same training as another row's" in md


def test_jobs_2_gives_the_numbers_of_jobs_1(smoke, tmp_path):
    _, serial = smoke
    parallel = run_main(tmp_path, jobs=2)
    assert parallel["config"]["jobs"] == 2
    for a, b in zip(serial["runs"], parallel["runs"]):
        assert a["spec"] == b["spec"]
        assert a["final"] == b["final"] and a["samples"] == b["samples"]


def test_replot_regenerates_results_md_from_results_json(smoke, tmp_path):
    source, _ = smoke
    shutil.copy(source / "results.json", tmp_path / "results.json")
    assert quality.main(["--replot", "--no-plot", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "results.md").read_text(encoding="utf-8") == (source / "results.md").read_text(encoding="utf-8")


def test_replot_takes_corrected_paper_numbers(smoke, tmp_path, monkeypatch):
    source, _ = smoke
    shutil.copy(source / "results.json", tmp_path / "results.json")
    ring = {**paper.TABLE1["ring"], "GAN": {"modes": (6.1, 0.4), "high_quality": (98.0, 0.3),
                                            "reverse_kl": (0.41, 0.08)}}
    monkeypatch.setitem(paper.TABLE1, "ring", ring)
    assert quality.main(["--replot", "--no-plot", "--out", str(tmp_path)]) == 0
    md = (tmp_path / "results.md").read_text(encoding="utf-8")
    assert "| GAN | 6.1 ± 0.4 | 98.0 ± 0.3% | 0.41 ± 0.08 |" in md and "6.3 ± 0.5" not in md


@pytest.mark.skipif(not HAS_MATPLOTLIB, reason="figures need matplotlib")
def test_replot_draws_a_figure_per_row_and_lists_it(smoke, tmp_path):
    source, _ = smoke
    shutil.copy(source / "results.json", tmp_path / "results.json")
    assert quality.main(["--replot", "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert [f["file"] for f in results["figures"]] == ["ring-gan.png", "ring-pacgan2.png"]
    md = (tmp_path / "results.md").read_text(encoding="utf-8")
    for name in ("ring-gan.png", "ring-pacgan2.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"`{name}`" in md


def test_without_matplotlib_figures_are_skipped_with_a_note(smoke, tmp_path, monkeypatch):
    source, _ = smoke
    shutil.copy(source / "results.json", tmp_path / "results.json")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    assert quality.main(["--replot", "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert results["figures"] == [] and command.NO_MATPLOTLIB in results["notes"]
    assert not list(tmp_path.glob("*.png"))
    assert command.NO_MATPLOTLIB in (tmp_path / "results.md").read_text(encoding="utf-8")


def test_an_interrupted_benchmark_keeps_its_finished_runs(tmp_path, monkeypatch, one_thread):
    def one_then_interrupt(specs, jobs, on_record, **_):
        on_record(1, running.run_one(specs[1]))
        raise KeyboardInterrupt

    monkeypatch.setattr(command, "run_all", one_then_interrupt)
    assert quality.main([*SMOKE, "--out", str(tmp_path)]) == 130
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert results["status"] == "interrupted" and results["runs_total"] == 2
    assert [r["spec"]["row"] for r in results["runs"]] == ["PacGAN2"]
    assert "Partial: 1 of 2 runs finished" in (tmp_path / "results.md").read_text(encoding="utf-8")


# -- option errors ----------------------------------------------------------------------
@pytest.mark.parametrize("argv, option", [
    (["--rows", "GAN,WGAN"], "--rows"),
    (["--seeds", "0"], "--seeds"),
    (["--datasets", "ring,moons"], "--datasets"),
    (["--jobs", "-2"], "--jobs"),
    (["--max-iter", "ten"], "--max-iter"),
    (["--eval-samples", "0"], "--eval-samples"),
    (["--replot"], "--replot"),
])
def test_bad_options_exit_with_one_line_naming_the_option(argv, option, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        quality.main([*argv, "--out", str(tmp_path / "none")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and option in err and err.startswith("gankit bench quality: error:")
    assert not (tmp_path / "none").exists()


def test_gankit_cli_reports_a_bad_option_and_fails():
    proc = subprocess.run([sys.executable, "-m", "gankit.cli", "bench", "quality", "--seeds", "0"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--seeds" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_quick_means_three_seeds_and_nothing_else():
    quick = options.config(options.parse(["--quick"], "x"))
    full = options.config(options.parse([], "x"))
    assert (quick["seeds"], full["seeds"]) == (3, 10)
    assert {k: v for k, v in quick.items() if k not in ("seeds", "quick")} == \
           {k: v for k, v in full.items() if k not in ("seeds", "quick")}
    assert options.config(options.parse(["--quick", "--seeds", "2"], "x"))["seeds"] == 2


def test_report_formats_missing_and_failed_rows():
    summary = [{"row": "GAN", "seeds": [0, 1], "failed": 1,
                "final": {k: {"mean": None, "std": None, "n": 0} for k in ("modes_captured",
                                                                          "high_quality_fraction", "reverse_kl")},
                "final_raw": None, "iterations": {"mean": None}, "stop_reasons": {"error": 1, "diverged": 1},
                "train_seconds": {"mean": None}, "train_cpu_seconds": {"mean": None}}]
    line = report.results_table(summary, 8)[2]
    assert line.startswith("| GAN | 1 (1 failed) | – | – | – |") and "diverged ×1, error ×1" in line
