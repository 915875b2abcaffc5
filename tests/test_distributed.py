"""Data-parallel training over MPI: `mpiexec -n R` runs of tests/distributed_support.py
(through a subprocess, with a timeout), and the checks that refuse what it cannot do.

Stated tolerance (docs/scale-out.md, "Reproducibility"): 2 ranks and 1 process with the same global
batch see the same rows and the same noise, and differ only in how the batch's gradient
mean is rounded (two half-batch means averaged in float64 vs one mean), so after 30
iterations their parameters agree to 1e-5 (measured: a few 1e-8).
"""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import gankit as gk
from gankit import distributed

SUPPORT = Path(__file__).with_name("distributed_support.py")
TIMEOUT = 120  # seconds for one mpiexec run; a healthy one takes a few


def _mpiexec():
    pytest.importorskip("mpi4py")
    beside = Path(sys.executable).with_name("mpiexec")
    found = str(beside) if beside.exists() else shutil.which("mpiexec")
    if found is None:
        pytest.skip("no mpiexec (pip install 'gankit[mpi]')")
    return found


def run_ranks(ranks, out, *args, expect_ok=True, timeout=TIMEOUT):
    """mpiexec -n ranks distributed_support.py ...; returns (completed process, result)."""
    env = {k: v for k, v in os.environ.items() if k not in distributed.LAUNCHER_SIZE_VARIABLES}
    env.pop("OMP_NUM_THREADS", None)
    command = [_mpiexec(), "-n", str(ranks), sys.executable, str(SUPPORT), "--out", str(out), *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    if expect_ok:
        assert done.returncode == 0, done.stdout + done.stderr
        return done, dict(np.load(out))
    return done, None


TIMES = {"history.time", "threads", "stop_reason"}  # what may differ between runs that agree


def params_of(result):
    return np.concatenate([result["G.params"], result["D.params"]])


def test_ranks_agree_bitwise_and_runs_repeat_bitwise(tmp_path):
    _, first = run_ranks(2, tmp_path / "a.npz", "--iterations", 30)
    assert int(first["ranks"]) == 2 and int(first["iterations"]) == 30
    digests = first["digests"]
    assert len(digests) == 2 and digests[0] == digests[1], "the ranks' states differ"
    # Another run, with a different thread count per rank: the same bits.
    _, second = run_ranks(2, tmp_path / "b.npz", "--iterations", 30, "--threads", 2)
    # By default the cores are divided among the ranks; --threads sets them explicitly.
    assert int(first["threads"]) == max(1, len(os.sched_getaffinity(0)) // 2)
    assert int(second["threads"]) == 2
    assert second["digests"][0] == first["digests"][0]
    for key in set(first) - TIMES:
        np.testing.assert_array_equal(first[key], second[key], err_msg=key)


def test_two_ranks_match_one_process_with_the_same_global_batch(tmp_path):
    _, two = run_ranks(2, tmp_path / "two.npz", "--iterations", 30)
    _, one = run_ranks(1, tmp_path / "one.npz", "--iterations", 30)
    difference = np.abs(params_of(two) - params_of(one)).max()
    assert difference <= 1e-5, difference
    np.testing.assert_allclose(two["history.d_loss"], one["history.d_loss"], rtol=1e-5)


def test_both_exchanges_give_the_same_bits_on_three_ranks(tmp_path):
    """The ordered reduce-scatter (the exchange beyond two ranks) averages every element
    as the Allgather does; three ranks split G's 746 and D's 745 parameters unevenly."""
    _, allgather = run_ranks(3, tmp_path / "ag.npz", "--iterations", 12, "--batch-size", 96,
                             "--exchange", "allgather")
    _, scatter = run_ranks(3, tmp_path / "rs.npz", "--iterations", 12, "--batch-size", 96,
                           "--exchange", "reduce_scatter")
    assert len(set(scatter["digests"])) == 1
    assert scatter["digests"][0] == allgather["digests"][0]
    _, one = run_ranks(1, tmp_path / "one.npz", "--iterations", 12, "--batch-size", 96)
    assert np.abs(params_of(scatter) - params_of(one)).max() <= 1e-5


def test_checkpoint_of_two_ranks_resumes_on_two_bitwise_and_on_one(tmp_path):
    _, straight = run_ranks(2, tmp_path / "straight.npz", "--iterations", 40)
    checkpoint = tmp_path / "ck.gk"
    run_ranks(2, tmp_path / "first.npz", "--iterations", 20, "--checkpoint", checkpoint)
    assert gk.GAN.load(checkpoint).iteration == 20
    saved = checkpoint.read_bytes()
    _, on_two = run_ranks(2, tmp_path / "two.npz", "--iterations", 40, "--checkpoint", checkpoint, "--resume")
    for key in set(straight) - TIMES:
        if key != "digests":
            np.testing.assert_array_equal(straight[key], on_two[key], err_msg=key)
    checkpoint.write_bytes(saved)
    _, on_one = run_ranks(1, tmp_path / "one.npz", "--iterations", 40, "--checkpoint", checkpoint, "--resume")
    assert int(on_one["iterations"]) == 40
    np.testing.assert_array_equal(on_one["history.d_loss"][:20], straight["history.d_loss"][:20])
    assert np.abs(params_of(on_one) - params_of(straight)).max() <= 1e-5


@pytest.mark.parametrize("how", ["raise", "kill"])
def test_a_failing_rank_ends_the_job_with_an_error_and_the_checkpoint_survives(tmp_path, how):
    checkpoint = tmp_path / "ck.gk"
    start = time.monotonic()
    done, _ = run_ranks(2, tmp_path / "never.npz", "--iterations", 1_000_000, "--checkpoint", checkpoint,
                        "--fail-rank", 1, "--fail-at", 25, "--how", how, expect_ok=False)
    elapsed = time.monotonic() - start
    assert done.returncode != 0
    assert elapsed < TIMEOUT
    if how == "raise":
        assert "rank 1 of 2: training failed, aborting the MPI job" in done.stderr
        assert "injected failure on rank 1 at iteration 25" in done.stderr
    assert not (tmp_path / "never.npz").exists()
    survivor = gk.GAN.load(checkpoint)
    assert survivor.iteration in (10, 20)


def test_divergence_is_caught_alike_on_every_rank(tmp_path):
    _, result = run_ranks(2, tmp_path / "d.npz", "--iterations", 200, "--diverge")
    assert str(result["stop_reason"]) == "diverged"
    assert int(result["iterations"]) < 200
    assert result["digests"][0] == result["digests"][1]
    assert np.isfinite(params_of(result)).all()


def test_a_bad_checkpoint_to_resume_fails_on_every_rank_without_a_hang(tmp_path):
    """Rank 0 reads the file and hands the error to the others (no rank waits forever)."""
    checkpoint = tmp_path / "ck.gk"
    checkpoint.write_bytes(b"not a gankit checkpoint")
    done, _ = run_ranks(2, tmp_path / "never.npz", "--iterations", 10, "--checkpoint", checkpoint,
                        "--resume", expect_ok=False)
    assert done.returncode != 0
    assert done.stderr.count("CheckpointError") >= 2, done.stderr  # raised on both ranks


def test_check_replicas_catches_ranks_that_drift_apart(tmp_path):
    done, _ = run_ranks(2, tmp_path / "never.npz", "--iterations", 1000, "--fail-rank", 1, "--fail-at", 7,
                        "--how", "perturb", expect_ok=False)
    assert done.returncode != 0
    assert "check_replicas: the ranks' GAN states differ after iteration 10" in done.stderr


def test_cli_trains_under_mpiexec_and_only_rank_0_writes(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in distributed.LAUNCHER_SIZE_VARIABLES}
    out = tmp_path / "run"
    command = [_mpiexec(), "-n", "2", sys.executable, "-m", "gankit.cli", "train", "--max-iter", "60",
               "--batch-size", "64", "--out", str(out), "--no-plot", "--quiet", "--check-replicas", "20"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("stop reason: max_iter after 60 iterations") == 1
    assert gk.GAN.load(out / "model.gk").iteration == 60


# -- refusals (in this process; no MPI needed) -------------------------------------------

class OneRank:
    """The communicator methods DataParallel's constructor needs, for one rank."""

    def Get_rank(self):
        return 0

    def Get_size(self):
        return 1

    Allgather = allgather = bcast = Abort = staticmethod(lambda *a, **k: None)


class TwoRanks(OneRank):
    def Get_size(self):
        return 2


X = gk.datasets.ring(n=256, seed=1)


@pytest.mark.parametrize("G, D, match", [
    (gk.MLP([2, 8, 2], batch_norm=True), gk.MLP([2, 8, 1]), r"^G: batch normalisation is not supported"),
    (gk.MLP([2, 8, 2]), gk.MLP([2, 8, 1], dropout=0.3), r"^D: dropout is not supported"),
])
def test_batch_norm_and_dropout_are_refused(G, D, match):
    with pytest.raises(ValueError, match=match):
        gk.GAN(G, D).fit(X, batch_size=32, max_iter=2, comm=OneRank())


def test_a_batch_that_does_not_split_into_whole_packs_per_rank_is_refused():
    gan = gk.GAN(gk.MLP([2, 8, 2]), gk.MLP([4, 8, 1]), pack=2)
    with pytest.raises(ValueError, match=r"batch_size: expected a multiple of ranks x pack = 2 x 2 = 4 .* got 34"):
        gan.fit(X, batch_size=34, max_iter=2, comm=TwoRanks())
    assert gan.iteration == 0


def test_not_a_communicator_is_refused():
    with pytest.raises(TypeError, match=r"comm: expected an mpi4py communicator .*got 'world'"):
        gk.GAN(gk.MLP([2, 8, 2]), gk.MLP([2, 8, 1])).fit(X, batch_size=32, max_iter=2, comm="world")


def test_check_replicas_without_comm_is_refused():
    with pytest.raises(ValueError, match="check_replicas: only used with comm"):
        gk.GAN(gk.MLP([2, 8, 2]), gk.MLP([2, 8, 1])).fit(X, batch_size=32, max_iter=2, check_replicas=5)


def test_a_launch_of_several_processes_without_mpi4py_is_refused(monkeypatch):
    monkeypatch.setenv("PMI_SIZE", "4")
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # import mpi4py raises ImportError
    with pytest.raises(ImportError, match=r"one of 4 MPI processes, but mpi4py is not installed.*gankit\[mpi\]"):
        distributed.world_communicator()


@pytest.mark.parametrize("mine, local, threads", [
    ({0, 1, 2, 3}, [{0, 1, 2, 3}] * 2, 2),              # two ranks share four cores
    ({0, 1}, [{0, 1}, {2, 3}], 2),                       # bound to their own cores
    ({0}, [{0}] * 3, 1),                                 # more ranks than cores: never 0
    ({0, 1, 2, 3, 4, 5}, [{0, 1, 2, 3, 4, 5}, {4, 5, 6, 7}, {8, 9}], 3),  # partly shared
])
def test_threads_per_rank_divide_the_cores_a_rank_shares(mine, local, threads):
    frozen = [frozenset(cores) for cores in local]
    assert distributed.threads_from_affinities(frozenset(mine), frozen) == threads


def test_no_launcher_means_one_process(monkeypatch):
    for name in distributed.LAUNCHER_SIZE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert distributed.launched_size() == 1
    assert distributed.world_communicator() is None
