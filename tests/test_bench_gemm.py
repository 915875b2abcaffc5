"""gankit bench gemm: a tiny run's table and JSON, and its refusals. Nothing here
asserts a speed."""
import json

import pytest

import gankit as gk
from gankit.bench import gemm


def test_a_tiny_run_prints_the_table_and_writes_json(tmp_path, capsys):
    out = tmp_path / "gemm.json"
    kernel = gk._core.gemm_kernel()
    assert gemm.main(["--sizes", "8,16", "--threads", "1", "--repeat", "1", "--mlp", "4,5,6",
                      "--kernel", "all", "--peak-seconds", "0.01", "--json", str(out)]) == 0
    assert gk._core.gemm_kernel() == kernel  # the kernel in use is put back
    report = json.loads(out.read_text())
    kernels = gk._core.gemm_kernels()
    products = ["square 8", "square 16", "X W", "X^T dY", "dY W^T"]
    assert [(r["kernel"], r["product"]) for r in report["results"]] == [(k, p) for k in kernels for p in products]
    shapes = {r["product"]: (r["m"], r["n"], r["k"]) for r in report["results"]}
    assert shapes == {"square 8": (8, 8, 8), "square 16": (16, 16, 16), "X W": (4, 6, 5),
                      "X^T dY": (5, 6, 4), "dY W^T": (4, 5, 6)}
    assert all(r["gankit_gflops"] > 0 and r["numpy_gflops"] > 0 for r in report["results"])
    assert report["fma_peak_gflops_per_core"] > 0 and report["statistic"] == "best of 1"
    printed = capsys.readouterr()
    assert "| kernel | threads | product |" in printed.out and "WARNING" not in printed.err
    assert printed.out.count("| square 8 |") == len(kernels)


@pytest.mark.parametrize("argv, message", [(["--kernel", "nope"], "not available here"),
                                           (["--mlp", "4,5"], "--mlp expects batch,in,out")])
def test_bad_kernel_or_shape_exits_with_a_message(argv, message):
    with pytest.raises(SystemExit) as exc:
        gemm.main(["--sizes", "8", "--threads", "1", "--repeat", "1", "--peak-seconds", "0.01", *argv],
                  prog="gemm")
    assert str(exc.value).startswith("gemm: ") and message in str(exc.value)


def test_bad_options_are_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exc:
        gemm.main(["--repeat", "0"])
    assert exc.value.code == 2 and "--repeat must be >= 1" in capsys.readouterr().err


def test_bf16_rows_follow_the_fp32_rows_or_are_refused(tmp_path, capsys):
    argv = ["--sizes", "8,33", "--threads", "1", "--repeat", "1", "--mlp", "none",
            "--peak-seconds", "0.01", "--precision", "fp32,bf16", "--json", str(tmp_path / "g.json")]
    bf16 = gk._core.gemm_bf16_kernel()
    if not bf16:
        with pytest.raises(SystemExit) as exc:
            gemm.main(argv)
        assert exc.value.code == 2 and "no bf16 kernel" in capsys.readouterr().err
        return
    assert gemm.main(argv) == 0
    rows = json.loads((tmp_path / "g.json").read_text())["results"]
    assert [(r["kernel"], r["precision"], r["product"]) for r in rows] == [
        (gk._core.gemm_kernel(), "fp32", "square 8"), (gk._core.gemm_kernel(), "fp32", "square 33"),
        (bf16, "bf16", "square 8"), (bf16, "bf16", "square 33")]
    assert "WARNING" not in capsys.readouterr().err


def test_an_unknown_precision_is_refused(capsys):
    with pytest.raises(SystemExit) as exc:
        gemm.main(["--precision", "fp16"])
    assert exc.value.code == 2 and "expected fp32, bf16 or fp32,bf16, got fp16" in capsys.readouterr().err
