"""Every benchmark of `gankit bench` has its script in benchmarks/, and both answer --help
with the benchmark's own options."""
import os
import subprocess
import sys

import pytest

from gankit.cli import BENCHMARKS

ROOT = os.path.join(os.path.dirname(__file__), os.pardir)
# An option each benchmark's --help must list.
OPTIONS = {"speed": "--frameworks", "profile": "--configs", "gemm": "--kernel", "pack_ema_cost": "--rounds",
           "losses": "--d-steps", "quality": "--rows",
           "scaling": "--layouts"}


def test_every_benchmark_is_checked_here():
    assert set(OPTIONS) == set(BENCHMARKS)


@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_the_script_and_the_command_give_the_same_options(name):
    script = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", f"{name}.py"), "--help"],
                            capture_output=True, text=True, timeout=120)
    command = subprocess.run([sys.executable, "-m", "gankit.cli", "bench", name, "--help"],
                             capture_output=True, text=True, timeout=120)
    assert script.returncode == 0 and command.returncode == 0, script.stderr + command.stderr
    assert OPTIONS[name] in script.stdout and OPTIONS[name] in command.stdout
    # The usage names the program; the description and options after it are the same.
    assert script.stdout.split("\n\n", 1)[1] == command.stdout.split("\n\n", 1)[1]
