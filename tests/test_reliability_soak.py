"""A short run of benchmarks/soak.py, both modes: training through repeated SIGKILLs of
its worker processes (and through save -> load -> resume in-process) ends bitwise equal
to an uninterrupted run of the same number of iterations."""
import importlib.util
import json
import os

import pytest

from reliability_support import SCALE, record_count

SOAK = os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks", "soak.py")


def load_soak():
    spec = importlib.util.spec_from_file_location("soak", SOAK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("mode, minutes", [("kill", 0.25), ("resume", 0.05)])
def test_a_short_soak_ends_bitwise_equal_to_an_uninterrupted_run(tmp_path, capsys, mode, minutes):
    soak = load_soak()
    status = soak.main(["--mode", mode, "--minutes", str(minutes * max(SCALE, 0.5)), "--checkpoint-every", "25",
                        "--kill-after", "1.5", "--hidden", "16,16", "--batch-size", "64", "--d-steps", "2",
                        "--seed", "3", "--workdir", str(tmp_path), "--json"])
    out = capsys.readouterr().out
    summary = json.loads(out.strip().splitlines()[-1])
    assert status == 0, out
    assert summary["bitwise_identical"] and summary["temporary_files_left"] == 0
    assert summary["iterations"] > 0
    if mode == "kill":
        assert summary["killed"] >= 2, out
    else:
        assert summary["loads"] >= 1 and summary["resumes"] >= 1, out
    record_count(f"soak ({mode})", {k: summary[k] for k in summary if k not in ("differing",)})


def test_the_soak_notices_a_difference(tmp_path, capsys, monkeypatch):
    """The comparison can fail: a reference run that is one iteration short differs."""
    soak = load_soak()
    real_fit = soak.fit
    calls = {"n": 0}

    def short_reference(gan, data, args, max_iter, **kwargs):
        calls["n"] += 1
        is_reference = "checkpoint" not in kwargs
        return real_fit(gan, data, args, max_iter - 1 if is_reference else max_iter, **kwargs)

    monkeypatch.setattr(soak, "fit", short_reference)
    status = soak.main(["--mode", "resume", "--minutes", "0", "--checkpoint-every", "10", "--hidden", "8",
                        "--batch-size", "32", "--workdir", str(tmp_path)])
    assert status == 1 and "DIFFERENT" in capsys.readouterr().out
