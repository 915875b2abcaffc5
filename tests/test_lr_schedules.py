"""Learning-rate schedules of the optimizers (constant, linear, cosine): the rate the core
uses at each update, the updates against the float64 reference, validation, and
checkpoints that continue the schedule."""
import numpy as np
import pytest

import gankit as gk
from gankit.optim import core_arguments
import reference as ref


def core_rates(opt, updates):
    """The learning rate the core applies at updates 1..updates."""
    net = gk.MLP([2, 3, 1])
    net._net.configure_optimizer(*core_arguments(opt)[:2], **core_arguments(opt)[2])
    rates = []
    for step in range(updates):
        net._net.optimizer_step = step
        rates.append(net._net.learning_rate)
    return np.array(rates)


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
@pytest.mark.parametrize("steps", [1, 7, 100])
def test_core_rates_follow_the_schedule(schedule, steps):
    opt = gk.Adam(lr=1e-3, schedule=schedule, schedule_steps=steps, final_lr=1e-5)
    rates = core_rates(opt, steps + 5)
    expected = [ref.scheduled_lr(1e-3, t, schedule, steps, 1e-5) for t in range(1, steps + 6)]
    np.testing.assert_allclose(rates, expected, rtol=1e-12)
    assert rates[0] == pytest.approx(1e-3) and np.all(rates[steps:] == pytest.approx(1e-5))
    assert np.all(np.diff(rates) <= 1e-18)  # never increases


def test_cosine_midpoint_and_constant():
    opt = gk.SGD(lr=0.1, schedule="cosine", schedule_steps=10, final_lr=0.0)
    assert core_rates(opt, 6)[5] == pytest.approx(0.05)  # t = 6: p = 0.5, (1 + cos(pi/2)) / 2
    assert np.all(core_rates(gk.Adam(lr=3e-4), 5) == pytest.approx(3e-4))
    for opt, far in ((gk.Adam(lr=3e-4), 3e-4), (gk.Adam(lr=3e-4, schedule="linear", schedule_steps=9,
                                                      final_lr=1e-6), 1e-6)):
        net = gk.MLP([2, 3, 1])
        net._net.configure_optimizer(*core_arguments(opt)[:2], **core_arguments(opt)[2])
        net._net.optimizer_step = 10**9  # far past the schedule: its end rate, no overflow
        assert net._net.learning_rate == pytest.approx(far)


@pytest.mark.parametrize("opt", [
    gk.Adam(lr=2e-3, schedule="linear", schedule_steps=5, final_lr=1e-4),
    gk.SGD(lr=0.1, momentum=0.5, schedule="cosine", schedule_steps=4),
])
def test_scheduled_steps_match_reference_trainer(opt):
    G = gk.MLP([3, 16, 2], output="tanh")
    D = gk.MLP([2, 12, 1])
    gan = gk.GAN(G, D, d_optimizer=opt, g_optimizer=opt, seed=7)
    settings = dict(schedule=opt.schedule, schedule_steps=opt.schedule_steps, final_lr=opt.final_lr)
    if isinstance(opt, gk.Adam):
        make = lambda n: ref.AdamRef(n, opt.lr, **settings)
    else:
        make = lambda n: ref.SGDRef(n, opt.lr, opt.momentum, **settings)
    G_ref, D_ref = ref.MLPRef.of(G), ref.MLPRef.of(D)
    trainer = ref.GANRef(G_ref, D_ref, "non_saturating", make(D.num_params), make(G.num_params))
    rng = np.random.default_rng(3)
    for it in range(8):  # past the schedule's end
        x = rng.normal(size=(20, 2)).astype(np.float32)
        z = rng.standard_normal((20, 3)).astype(np.float32)
        np.testing.assert_allclose(gan.d_step(x, z), trainer.d_step(x, z), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(gan.g_step(z), trainer.g_step(z), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(G.params, G_ref.flat(), rtol=1e-3, atol=1e-5, err_msg=f"it {it}")
        np.testing.assert_allclose(D.params, D_ref.flat(), rtol=1e-3, atol=1e-5, err_msg=f"it {it}")


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(schedule="exponential"), ValueError, "schedule: expected one of 'constant', 'linear', 'cosine'"),
    (dict(schedule="linear"), ValueError, "schedule_steps: expected the number of updates"),
    (dict(schedule="linear", schedule_steps=0), ValueError, "schedule_steps: expected an integer >= 1"),
    (dict(schedule="cosine", schedule_steps=2.5), TypeError, "schedule_steps: expected an integer"),
    (dict(schedule_steps=10), ValueError, "schedule_steps: only used with schedule 'linear' or 'cosine'"),
    (dict(schedule="linear", schedule_steps=10, final_lr=1.0), ValueError, "final_lr: expected 0 <= final_lr <= "),
    (dict(schedule="linear", schedule_steps=10, final_lr=-1e-5), ValueError, "final_lr: expected 0 <= final_lr"),
    (dict(schedule=None), ValueError, "schedule: expected one of"),
])
def test_bad_schedules_are_refused(kwargs, error, match):
    for cls in (gk.Adam, gk.SGD):
        with pytest.raises(error, match=match):
            cls(lr=1e-3, **kwargs)
