"""gankit bench profile: the per-phase breakdown of the benchmark's iteration."""
import json

import pytest

from gankit.bench import profile


def test_profile_writes_every_phase(tmp_path, capsys):
    out = tmp_path / "profile.json"
    assert profile.main(["--configs", "tiny", "--threads", "1", "--seconds", "0.2", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["cpu_model"] and report["date"] and report["build_info"]["kernel"]
    assert report["command"].endswith("--json " + str(out))
    (result,) = report["results"]
    assert result["config"] == "tiny" and result["threads"] == 1 and result["iterations"] > 0
    phases = result["phases_ms"]
    assert set(phases) == {"noise", "G forward", "D forward", "losses", "D backward (input gradient)",
                           "D backward + update", "G backward + update"}
    assert all(ms > 0 for ms in phases.values())
    # The phases are the whole step: their sum is close to the unprofiled time.
    assert 0.3 * result["total_ms"] < sum(phases.values()) < 3 * result["total_ms"]
    assert "tiny, 1 thread(s)" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--threads", "0"], ["--seconds", "-1"], ["--configs", "nope"]])
def test_bad_options_exit_with_a_message(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        profile.main(argv)
    assert exc.value.code == 2
    assert "error" in capsys.readouterr().err
