"""gankit.profiling: the per-phase timers of the C++ GAN steps, through the public API."""
import pytest

import gankit as gk
from gankit import profiling

PHASES = {"noise", "G forward", "D forward", "losses", "D backward (input gradient)",
          "D backward + update", "G backward + update"}


@pytest.fixture
def gan():
    G = gk.MLP([2, 16, 2])
    D = gk.MLP([2, 16, 1])
    return gk.GAN(G, D, seed=0)


@pytest.fixture(autouse=True)
def _profiling_off_afterwards():
    yield
    profiling.disable()
    profiling.reset()


def _iterations(gan, x, n):
    for _ in range(n):
        gan.d_step(x)
        gan.g_step(batch_size=64)


def test_phases_count_calls_only_while_enabled(gan):
    x = gk.datasets.ring(n=64, seed=0)
    profiling.reset()
    _iterations(gan, x, 1)
    assert all(total.calls == 0 for total in profiling.totals().values())

    profiling.enable()
    _iterations(gan, x, 3)
    totals = profiling.totals()
    assert set(totals) == PHASES
    assert all(isinstance(total, profiling.PhaseTotal) for total in totals.values())
    # Each iteration: noise twice (both steps draw), G and D forward twice, losses
    # twice, D's input gradient (G's step) and each network's backward + update once.
    assert {name: total.calls for name, total in totals.items()} == {
        "noise": 6, "G forward": 6, "D forward": 6, "losses": 6,
        "D backward (input gradient)": 3, "D backward + update": 3, "G backward + update": 3}
    assert all(total.seconds > 0 for total in totals.values())

    profiling.disable()
    _iterations(gan, x, 2)
    assert profiling.totals() == totals, "disable() keeps the totals and stops counting"

    profiling.reset()
    assert all(t.seconds == 0 and t.calls == 0 for t in profiling.totals().values())


def test_given_noise_is_not_timed_as_drawn(gan):
    profiling.reset()
    profiling.enable()
    gan.d_step(gk.datasets.ring(n=32, seed=1), z=gan.noise(32))
    assert profiling.totals()["noise"].calls == 0


def test_step_profile_block_times_only_its_body(gan):
    x = gk.datasets.ring(n=64, seed=2)
    profiling.enable()
    _iterations(gan, x, 2)          # counted before the block: reset on entry drops it
    with profiling.step_profile() as profile:
        assert profile.totals is None
        _iterations(gan, x, 4)
    assert profile.totals["G backward + update"].calls == 4
    _iterations(gan, x, 1)          # the block turned the timers off on exit
    assert profiling.totals()["G backward + update"].calls == 4


def test_step_profile_block_stores_totals_when_its_body_raises(gan):
    x = gk.datasets.ring(n=64, seed=3)
    with pytest.raises(RuntimeError, match="body failed"):
        with profiling.step_profile() as profile:
            _iterations(gan, x, 1)
            raise RuntimeError("body failed")
    assert profile.totals["D backward + update"].calls == 1
    _iterations(gan, x, 1)
    assert profiling.totals()["D backward + update"].calls == 1
