"""gankit.sweeps on Dask: a sweep on a LocalCluster gives the serial results, in config
order and streamed as each call ends; a worker killed mid-sweep loses no result; a call
that always kills its worker ends as a failed entry (KilledWorker), as does one that
breaks the process pool; the benchmarks write the same results.json on --workers 2 and
--scheduler as on --jobs 1 (timing and host fields aside); gk.sweep's arguments are
checked at the boundary."""
import json
import logging
import threading

import pytest

import sweep_support
from gankit import sweeps
from gankit.bench import losses, quality
from gankit.bench._parallel import run_tasks
from gankit.bench.losses.running import failed_record
from gankit.bench.losses.setup import RunSpec, architecture
from gankit.sweeps import Backend, Failed, sweep

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

CONFIGS = [{"seed": seed, "g_loss": loss} for seed in (0, 1) for loss in ("non_saturating", "minimax")]
# A sweep that has not ended by then is hung (a lost task nobody reports): fail the test.
HANG_SECONDS = 90


@pytest.fixture(scope="module")
def scheduler():
    """One LocalCluster for the module (start-up costs seconds): 2 single-threaded
    workers, one task each at a time, a task given up after its second worker death."""
    settings = {"distributed.scheduler.allowed-failures": 1, "distributed.scheduler.worker-saturation": 1.0}
    with dask.config.set(settings), distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
            silence_logs=logging.CRITICAL) as cluster:  # the kills below log errors on purpose
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def serial_results():
    return sweep(sweep_support.train_small, CONFIGS, jobs=1)


def within(seconds, fn, *args, **kwargs):
    """fn(*args, **kwargs), failing the test if it has not returned after `seconds`."""
    outcome = {}

    def target():
        try:
            outcome["value"] = fn(*args, **kwargs)
        except BaseException as error:
            outcome["error"] = error
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{fn.__name__} still running after {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


# -- gk.sweep on a cluster ----------------------------------------------------------------
def test_a_cluster_sweep_gives_the_serial_results_in_config_order(scheduler, serial_results):
    streamed = []
    results = sweep(sweep_support.train_small, CONFIGS, scheduler=scheduler,
                    on_result=lambda i, result: streamed.append((i, result)))
    assert results == serial_results
    assert [r["config"] for r in results] == CONFIGS
    assert sorted(i for i, _ in streamed) == [0, 1, 2, 3]
    assert all(result == results[i] for i, result in streamed)
    # The runs differ from each other: equal lists above are not equal by accident.
    assert len({json.dumps(r["samples"]) for r in results}) == len(CONFIGS)


def test_a_local_cluster_runs_each_call_on_one_thread_in_worker_processes():
    seen = sweep(sweep_support.threads_seen, range(4), workers=2)
    assert all(s["core_threads"] == 1 for s in seen)
    assert all(s["env"] == {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"} for s in seen)
    assert 1 <= len({s["pid"] for s in seen}) <= 2


def test_a_worker_killed_mid_sweep_loses_no_result(scheduler, serial_results, tmp_path):
    configs = [dict(c) for c in CONFIGS]
    configs[1]["marker"] = str(tmp_path / "killed-once")
    results = within(HANG_SECONDS, sweep, sweep_support.train_after_killing_first_worker, configs,
                     scheduler=scheduler)
    assert (tmp_path / "killed-once").exists()  # the first attempt did kill its worker
    assert results == serial_results


def test_a_call_that_always_kills_its_worker_is_a_failed_entry(scheduler, serial_results):
    results = within(HANG_SECONDS, sweep, sweep_support.always_kill_worker, [None], scheduler=scheduler)
    [failed] = results
    assert isinstance(failed, Failed) and failed.error.startswith("KilledWorker: ")
    # The cluster got its workers back: the next sweep runs as before.
    assert sweep(sweep_support.train_small, CONFIGS[:1], scheduler=scheduler) == serial_results[:1]


def test_a_bench_run_whose_worker_dies_becomes_its_failed_record(scheduler):
    spec = RunSpec("ring", "minimax", 1, 0, 10, 5, 100, 5, 5, "cli", architecture("cli", "ring"))
    records = {}
    within(HANG_SECONDS, run_tasks, [(sweep_support.always_kill_worker, failed_record, spec)], [0],
           Backend(sweeps.SCHEDULER, None, scheduler), lambda done, i, record: records.update({i: record}))
    assert records[0]["stop_reason"] == "error" and records[0]["spec"] == spec.as_dict()
    assert records[0]["error"].startswith("KilledWorker: ")


@pytest.mark.parametrize("where", [{"jobs": 1}, {"scheduler": None}])
def test_a_call_that_raises_is_a_failed_entry_with_its_traceback(where, scheduler):
    where = {k: v or scheduler for k, v in where.items()}
    results = sweep(sweep_support.fail_for_seed_1, CONFIGS[::2] + CONFIGS[2:3], **where)
    assert results[0] == {"seed": 0}
    assert isinstance(results[1], Failed) and results[2] == results[1]
    assert "Traceback" in results[1].error and "ValueError: seed 1 refused on purpose" in results[1].error


def test_a_call_that_breaks_the_process_pool_is_a_failed_entry():
    [failed] = within(HANG_SECONDS, sweep, sweep_support.always_kill_worker, [None], jobs=2)
    assert isinstance(failed, Failed) and failed.error.startswith("BrokenProcessPool: ")


# -- the benchmarks ---------------------------------------------------------------------
TINY_LOSSES = ["--datasets", "ring", "--d-steps", "1", "--seeds", "1", "--max-iter", "40", "--eval-every", "20",
               "--eval-samples", "200", "--grad-iters", "20", "--probe-steps", "3", "--no-plot"]
TINY_QUALITY = ["--datasets", "ring", "--rows", "GAN,PacGAN2", "--seeds", "1", "--max-iter", "30", "--no-plot"]
# Where and when it ran, not what it computed: the command line, the machine, the backend
# and every duration (all timing fields of results.json end in "seconds").
HOST_FIELDS = {"command", "environment", "jobs", "backend", "out", "started", "finished"}


def without_host_fields(value):
    if isinstance(value, dict):
        return {k: without_host_fields(v) for k, v in value.items()
                if k not in HOST_FIELDS and not k.endswith("seconds")}
    if isinstance(value, list):
        return [without_host_fields(v) for v in value]
    return value


def bench_results(main, argv, out) -> dict:
    assert main([*argv, "--out", str(out)]) == 0
    return json.loads((out / "results.json").read_text(encoding="utf-8"))


def test_bench_losses_on_2_workers_writes_the_results_of_jobs_1(tmp_path):
    serial = bench_results(losses.main, [*TINY_LOSSES, "--jobs", "1"], tmp_path / "serial")
    dask_run = bench_results(losses.main, [*TINY_LOSSES, "--workers", "2"], tmp_path / "dask")
    assert dask_run["config"]["backend"] == {"kind": "local_cluster", "workers": 2, "address": None}
    assert serial["config"]["backend"]["kind"] == "serial"
    assert all(r["error"] is None for r in dask_run["runs"] + dask_run["probes"])
    assert without_host_fields(dask_run) == without_host_fields(serial)
    assert "2 at a time on a Dask LocalCluster" in (tmp_path / "dask" / "results.md").read_text(encoding="utf-8")


def test_bench_quality_on_a_scheduler_writes_the_results_of_jobs_1(scheduler, tmp_path):
    serial = bench_results(quality.main, [*TINY_QUALITY, "--jobs", "1"], tmp_path / "serial")
    dask_run = bench_results(quality.main, [*TINY_QUALITY, "--scheduler", scheduler], tmp_path / "dask")
    assert dask_run["config"]["backend"] == {"kind": "scheduler", "workers": None, "address": scheduler}
    assert dask_run["status"] == "complete" and len(dask_run["runs"]) == 2
    assert without_host_fields(dask_run) == without_host_fields(serial)


@pytest.mark.parametrize("main", [losses.main, quality.main])
def test_bench_refuses_two_backends_in_one_line(main, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--jobs", "2", "--workers", "2", "--out", str(tmp_path / "none")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--workers: not allowed with argument --jobs" in err


def test_bench_without_dask_refuses_workers_with_the_pip_command(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sweeps, "has_dask", lambda: False)
    assert losses.main([*TINY_LOSSES, "--workers", "2", "--out", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'workers: needs dask.distributed: pip install "gankit[dask]"' in err


# -- arguments --------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, error, message", [
    ({"jobs": 2, "scheduler": "tcp://h:8786"}, ValueError,
     "jobs, workers, scheduler: expected at most one of them, got jobs and scheduler"),
    ({"jobs": 1, "workers": 2}, ValueError, "got jobs and workers"),
    ({"workers": 0}, ValueError, "workers: expected an integer >= 1, got 0"),
    ({"jobs": 1.5}, TypeError, "jobs: expected an integer, got 1.5 (float)"),
    ({"scheduler": ""}, TypeError, "scheduler: expected a Dask scheduler address like 'tcp://host:8786', got ''"),
    ({"on_result": 3}, TypeError, "on_result: expected a callable or None, got int"),
])
def test_sweep_checks_its_arguments(kwargs, error, message):
    with pytest.raises(error) as exc:
        sweep(sweep_support.train_small, CONFIGS, **kwargs)
    assert message in str(exc.value)


def test_sweep_checks_fn_and_configs():
    with pytest.raises(TypeError, match=r"^fn: expected a callable, got 'train_small' \(str\)"):
        sweep("train_small", CONFIGS, jobs=1)
    with pytest.raises(TypeError, match=r"^configs: expected an iterable of configurations, got str"):
        sweep(sweep_support.train_small, "seed=0", jobs=1)
    with pytest.raises(TypeError, match=r"^fn: expected a picklable module-level function with jobs > 1"):
        sweep(lambda config: config, CONFIGS, jobs=2)


@pytest.mark.parametrize("kwargs", [{"scheduler": "tcp://h:8786"}, {"workers": 2}])
def test_sweep_without_dask_says_how_to_install_it(kwargs, monkeypatch):
    monkeypatch.setattr(sweeps, "has_dask", lambda: False)
    with pytest.raises(ImportError, match=r'needs dask.distributed: pip install "gankit\[dask\]"'):
        sweep(sweep_support.train_small, CONFIGS, **kwargs)


def test_the_default_is_a_local_cluster_per_core_with_dask_else_a_process_pool(monkeypatch):
    cores = sweeps.available_cores()
    assert sweeps.choose_backend() == Backend(sweeps.LOCAL_CLUSTER, cores)
    monkeypatch.setattr(sweeps, "has_dask", lambda: False)
    assert sweeps.choose_backend() == Backend(sweeps.SERIAL if cores == 1 else sweeps.PROCESSES, cores)
