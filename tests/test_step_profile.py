"""The per-phase timers of the GAN steps (gankit._core.step_profile*)."""
import pytest

import gankit as gk

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
    gk._core.step_profile_enable(False)
    gk._core.step_profile_reset()


def test_phases_count_calls_only_while_enabled(gan):
    x = gk.datasets.ring(n=64, seed=0)
    gk._core.step_profile_reset()
    gan.d_step(x)
    gan.g_step(batch_size=64)
    assert all(calls == 0 for _, calls in gk._core.step_profile().values())

    gk._core.step_profile_enable(True)
    for _ in range(3):
        gan.d_step(x)
        gan.g_step(batch_size=64)
    totals = gk._core.step_profile()
    assert set(totals) == PHASES
    calls = {name: c for name, (_, c) in totals.items()}
    # Each iteration: noise twice (both steps draw), G and D forward twice, losses
    # twice, D's input gradient (G's step) and each network's backward + update once.
    assert calls == {"noise": 6, "G forward": 6, "D forward": 6, "losses": 6,
                     "D backward (input gradient)": 3, "D backward + update": 3,
                     "G backward + update": 3}
    assert all(seconds > 0 for seconds, _ in totals.values())

    gk._core.step_profile_reset()
    assert all(seconds == 0 and c == 0 for seconds, c in gk._core.step_profile().values())


def test_given_noise_is_not_timed_as_drawn(gan):
    gk._core.step_profile_reset()
    gk._core.step_profile_enable(True)
    gan.d_step(gk.datasets.ring(n=32, seed=1), z=gan.noise(32))
    assert gk._core.step_profile()["noise"][1] == 0
