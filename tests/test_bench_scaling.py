"""gankit bench scaling: a tiny --quick run end to end (without MPI, and with it where
mpi4py and mpiexec are installed), its 16-node arithmetic, its launches' failures and
its refusals. Nothing here asserts a speed beyond "positive"."""
import json
import os

import pytest

import gankit as gk
from gankit.bench.scaling import driver, main, options, paper
from gankit.bench.speed.configs import CONFIGS

TINY = ["--quick", "--configs", "tiny", "--large-batch", "64"]


def read_report(folder):
    with open(os.path.join(folder, "results.json")) as f:
        return json.load(f)


def test_without_mpiexec_the_one_process_part_still_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(driver, "find_mpiexec", lambda explicit=None: None)
    real_find_spec = driver.importlib.util.find_spec
    monkeypatch.setattr(driver.importlib.util, "find_spec",  # "mpi4py is there", the rest as it is
                        lambda name, *rest: object() if name == "mpi4py" else real_find_spec(name, *rest))
    extra = tmp_path / "copy.json"
    assert main([*TINY, "--out", str(tmp_path / "out"), "--json", str(extra)]) == 0
    report = read_report(tmp_path / "out")
    assert json.loads(extra.read_text()) == report
    assert report["mpi"]["status"].startswith("skipped: no mpiexec next to")
    assert report["machine"]["cpu_model"] and report["build"]["kernel"] == gk.build_info()["kernel"]
    assert report["fma_peak_gflops_per_core"] > 0 and len(report["machine"]["load_average_start"]) == 3
    (row,) = report["fused_vs_split"]
    assert row["config"] == "tiny" and row["fused"]["median_its"] > 0 and row["split"]["median_its"] > 0
    assert len(row["fused"]["its_per_round"]) == 2 and row["split_over_fused"] > 0
    # The data-parallel cases are still listed with their one-process baseline, no layouts.
    assert [(c["global_batch"], c["layouts"]) for c in report["data_parallel"]] == [(16, []), (64, [])]
    assert all(c["one_process"]["median_its"] > 0 for c in report["data_parallel"])
    (net,) = report["sixteen_nodes"]
    assert net["params"] == {"G": gk.MLP([4, 16, 3]).num_params, "D": gk.MLP([3, 16, 1]).num_params}
    assert [b["shard_rows"] for b in net["batches"]] == [4, 64]
    assert all(b["compute_seconds"] > 0 for b in net["batches"])
    printed = capsys.readouterr()
    assert "data parallel: skipped: no mpiexec" in printed.out and "tiny" in printed.out
    md = (tmp_path / "out" / "results.md").read_text()
    assert "Not measured: skipped: no mpiexec" in md and "On paper: 16 nodes (computed, not measured)" in md


def test_data_parallel_part_over_mpiexec(tmp_path, capsys):
    pytest.importorskip("mpi4py")
    if driver.find_mpiexec() is None:
        pytest.skip("no mpiexec next to this Python or on PATH")
    if options.cores() < 2:
        pytest.skip("one core: no layout with two ranks fits")
    assert main([*TINY, "--layouts", "1x1,2x1", "--out", str(tmp_path), "--markdown"]) == 0
    report = read_report(tmp_path)
    assert report["mpi"]["status"] == "ok" and report["mpi"]["library"]
    assert report["launches"]["2x1"] == {"ranks": 2, "threads_per_rank": 1}
    assert not report["failures"]
    for case in report["data_parallel"]:
        by_layout = {row["layout"]: row for row in case["layouts"]}
        assert set(by_layout) == {"1x1", "2x1"}
        two = by_layout["2x1"]
        assert two["rows_per_rank"] == case["global_batch"] // 2 and two["median_its"] > 0
        assert two["samples_per_second"] == pytest.approx(two["median_its"] * case["global_batch"])
        assert two["vs_one_process"] > 0 and 0 < two["reduction_share"] <= two["reduction_share_max_rank"] <= 1
    printed = capsys.readouterr().out
    assert "| tiny | 64 | 2x1 | 32 |" in printed and "### Fused vs split steps" in printed


def test_mpi_unavailable_says_why(monkeypatch):
    args = options.parse_args(["--quick", "--no-mpi"], "scaling")
    assert driver.mpi_unavailable(args) == "skipped (--no-mpi)"
    args = options.parse_args(["--quick"], "scaling")
    real_find_spec = driver.importlib.util.find_spec
    monkeypatch.setattr(driver.importlib.util, "find_spec",
                        lambda name, *rest: None if name == "mpi4py" else real_find_spec(name, *rest))
    assert "mpi4py is not installed (pip install 'gankit[mpi]')" in driver.mpi_unavailable(args)


def test_a_failing_or_hanging_launch_is_reported():
    bad = [{"kind": "nope", "config": "tiny", "batch": 16, "seconds": 0.01, "warmup": 0.0}]
    with pytest.raises(driver.LaunchError, match=r"exit status 1: .*kind: expected one of"):
        driver.launch([], 1, bad, timeout=120)
    slow = [{"kind": "fused", "config": "tiny", "batch": 16, "seconds": 60.0, "warmup": 0.0}]
    with pytest.raises(driver.LaunchError, match="killed after its 1 s timeout"):
        driver.launch([], 1, slow, timeout=1)


def test_layouts_fill_the_cores():
    assert options.default_layouts(1) == [(1, 1)]
    assert options.default_layouts(2) == [(1, 1), (1, 2), (2, 1)]
    assert options.default_layouts(16) == [(1, 1), (1, 16), (2, 8), (4, 4), (8, 2), (16, 1)]
    assert options.layouts("1x2, 2X1,1x2") == [(1, 2), (2, 1)]


def test_cases_add_the_large_batch_once_per_network():
    cases = driver.parallel_cases(["toy2d", "mnist64", "mnist256"], 1024)
    assert [(c.config, c.batch) for c in cases] == [("toy2d", 256), ("mnist64", 64), ("mnist256", 256),
                                                    ("toy2d", 1024), ("mnist256", 1024)]
    assert driver.parallel_cases(["mnist64"], 0) == [driver.Case("mnist64", 64)]
    assert list(driver.distinct_networks(["mnist64", "toy2d", "mnist256"])) == ["mnist64", "toy2d"]


def test_sixteen_node_arithmetic():
    net = paper.sixteen_nodes("mnist64", {4: 0.001, 64: 0.004, 1024: 0.05}, (64, 1024, 16384))
    p_g, p_d = net["params"]["G"], net["params"]["D"]
    c = CONFIGS["mnist64"]
    assert (p_g, p_d) == (gk.MLP(list(c.g_sizes)).num_params, gk.MLP(list(c.d_sizes)).num_params)
    assert net["replica_bytes_per_iteration"] == 4 * (p_g + p_d)
    assert net["allgather_bytes_per_rank_per_iteration"] == 15 * 4 * (p_g + p_d)
    assert net["reduce_scatter_bytes_per_rank_per_iteration"] == pytest.approx(2 * 15 / 16 * 4 * (p_g + p_d))
    ten = net["links_gbit_per_s"]["10"]
    assert ten["allgather_seconds"] == pytest.approx(15 * 4 * (p_g + p_d) * 8 / 10e9)
    # ~97 ms at 10 Gb/s is past the slowest shard timed (50 ms): along the last segment's slope.
    assert ten["break_even"]["how"] == "extrapolated"
    slope = (0.05 - 0.004) / (1024 - 64)
    assert ten["break_even"]["shard_rows"] == pytest.approx(1024 + (ten["allgather_seconds"] - 0.05) / slope)
    assert [b["global_batch"] for b in net["batches"]] == [64, 1024, 16384]


def test_crossing_rows():
    points = [(4, 1.0), (16, 2.0), (64, 6.0)]
    assert paper.crossing_rows(points, 0.5) == {"rows": 4, "how": "at or below"}
    assert paper.crossing_rows(points, 4.0) == {"rows": 40.0, "how": "interpolated"}
    assert paper.crossing_rows(points, 10.0) == {"rows": 112.0, "how": "extrapolated"}
    assert paper.crossing_rows([(4, 1.0)], 2.0) is None
    assert paper.crossing_rows([(4, 2.0), (16, 1.0)], 3.0) is None


@pytest.mark.parametrize("argv, message", [
    (["--rounds", "0"], "--rounds: expected a positive integer"),
    (["--seconds", "0"], "--seconds must be > 0"),
    (["--layouts", "3x"], "expected comma-separated RANKSxTHREADS"),
    (["--layouts", "0x1"], "ranks and threads of at least 1"),
    (["--layouts", "4096x1"], "would oversubscribe"),
    (["--configs", "nope"], "--configs: expected comma-separated names"),
    (["--large-batch", "-1"], "--large-batch: expected 0"),
    (["--timeout", "0"], "--timeout: expected a positive"),
])
def test_bad_options_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv, prog="scaling")
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_out_must_be_a_folder(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("")
    with pytest.raises(SystemExit):
        main(["--out", str(target)], prog="scaling")
    assert "is not a folder" in capsys.readouterr().err
