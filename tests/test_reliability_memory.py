"""Memory: resident memory stays flat over 100,000 training steps and over 1,000
create/destroy cycles of networks and GANs, and NumPy views of parameters keep their
network alive after every Python object that owned it is gone.

Each measurement runs in a fresh subprocess (nothing else allocating, no pytest
caches) reading its own resident set from /proc/self/statm after a warm-up, so that
allocators' and NumPy's one-time growth is not counted. The bound is generous (20 MiB)
because the machine is shared and allocators keep some slack, yet a real leak still
fails it: anything that loses 210 bytes or more per step crosses 20 MiB over 100,000
steps (one lost NumPy result of a step is about 100 bytes of header plus its data; one
lost workspace of these networks is 512 bytes or more), and anything that loses 21 KB
or more per cycle crosses it over 1,000 cycles (one lost 2-32-32-2 network with its
gradients, Adam state and batch-64 workspaces is about 50 KB). Smaller leaks would
pass; the core's own buffers are checked exactly instead, by its allocation counter
(no new allocation per step after the first).

Under AddressSanitizer (.ci/run's sanitizer stage) the loops still run in full, but
resident memory says nothing there (ASan quarantines freed memory and keeps shadow
memory), so the RSS bounds are checked only in normal builds; ASan's leak checker is
off for CPython (which leaks by design at exit), so leaks are this test's job.
"""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import gankit as gk

GROWTH_LIMIT_MB = 20.0


def sanitized() -> bool:
    with open("/proc/self/maps") as maps:
        return "libasan" in maps.read()


def run_measurement(body: str, timeout: int = 600) -> dict:
    """Run `body` in a fresh interpreter; it defines rss_mb() and sets `result`."""
    script = textwrap.dedent("""
        import json, os, sys
        import numpy as np
        import gankit as gk
        PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20
        def rss_mb():
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * PAGE_MB
        result = {}
    """) + textwrap.dedent(body) + "\nprint(json.dumps(result))\n"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"the measuring process failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
    import json
    return json.loads(proc.stdout.strip().splitlines()[-1])


def check_growth(result: dict, what: str) -> None:
    growth = result["after"] - result["warm"]
    print(f"{what}: RSS {result['warm']:.1f} MB after warm-up, {result['after']:.1f} MB at the end "
          f"(+{growth:.1f} MB)")
    if sanitized():
        pytest.skip(f"{what}: ran in full; RSS is not meaningful under AddressSanitizer")
    assert growth < GROWTH_LIMIT_MB, f"{what}: resident memory grew by {growth:.1f} MB"


def test_rss_is_flat_over_100k_training_steps():
    result = run_measurement("""
        G, D = gk.MLP([2, 8, 8, 2]), gk.MLP([2, 8, 8, 1])
        gan = gk.GAN(G, D, seed=0, d_optimizer=gk.Adam(lr=1e-3), g_optimizer=gk.Adam(lr=1e-3))
        x = gk.datasets.ring(n=4096, seed=0)
        batches = [np.ascontiguousarray(x[i:i + 16]) for i in range(0, 4096, 16)]
        def steps(n, start):
            for i in range(start, start + n):
                gan.d_step(batches[i % len(batches)])
                gan.g_step(batch_size=16)
        steps(2_000, 0)
        result["warm"] = rss_mb()
        allocations = gk._core.allocation_count()
        steps(100_000, 2_000)
        result["after"] = rss_mb()
        result["new_core_allocations"] = gk._core.allocation_count() - allocations
        result["finite"] = bool(np.all(np.isfinite(G.params)) and np.all(np.isfinite(D.params)))
    """)
    assert result["new_core_allocations"] == 0 and result["finite"]
    check_growth(result, "100,000 d_step + g_step")


def test_the_measurement_catches_a_leak_of_250_bytes_per_step():
    """The harness itself: the same 100,000 steps, each keeping 250 bytes alive, must
    fail the bound (so a pass above means less than that leaks)."""
    result = run_measurement("""
        gan = gk.GAN(gk.MLP([2, 8, 8, 2]), gk.MLP([2, 8, 8, 1]), seed=0)
        x = np.ascontiguousarray(gk.datasets.ring(n=16, seed=0))
        kept = []
        for _ in range(2_000):
            gan.d_step(x); gan.g_step(batch_size=16)
        result["warm"] = rss_mb()
        for i in range(100_000):
            gan.d_step(x); gan.g_step(batch_size=16)
            kept.append(bytes(250 - 33) + i.to_bytes(8, "little"))  # 250 bytes with the object header
        result["after"] = rss_mb()
    """)
    if sanitized():
        pytest.skip("RSS is not meaningful under AddressSanitizer")
    assert result["after"] - result["warm"] > GROWTH_LIMIT_MB


def test_rss_is_flat_over_fit_with_checkpoints(tmp_path):
    """fit's own bookkeeping (snapshots, RNG states, saves) per iteration: the history
    legitimately grows by 5 floats per iteration, so it is reset between measurements."""
    result = run_measurement(f"""
        gan = gk.GAN(gk.MLP([2, 8, 2]), gk.MLP([2, 8, 1]), seed=0)
        x = gk.datasets.ring(n=1024, seed=0)
        path = {str(tmp_path / "c.gk")!r}
        def run(n):
            for _ in range(n // 500):
                gan.fit(x, batch_size=16, max_iter=len(gan.history) + 500, checkpoint=path,
                        checkpoint_every=250)
                gan.history.truncate(0)
        run(2_000)
        result["warm"] = rss_mb()
        run(20_000)
        result["after"] = rss_mb()
    """)
    check_growth(result, "20,000 fit iterations with 80 checkpoint saves")


def test_rss_is_flat_over_1000_create_destroy_cycles():
    result = run_measurement("""
        x = gk.datasets.ring(n=256, seed=0)
        def cycle(i):
            G, D = gk.MLP([2, 32, 32, 2]), gk.MLP([2, 32, 32, 1])
            gan = gk.GAN(G, D, seed=i)
            gan.d_step(x[:64]); gan.g_step(batch_size=64)
            views = G.parameters(), D.params, gan.sample(64), G.grads
            core = gk._core.Mlp([4, 16, 1])
            core.forward(np.ones((8, 4), np.float32))
            del G, D, gan, views, core
        for i in range(50):
            cycle(i)
        import gc; gc.collect()
        result["warm"] = rss_mb()
        for i in range(1_000):
            cycle(i)
        gc.collect()
        result["after"] = rss_mb()
    """)
    check_growth(result, "1,000 create/destroy cycles")


def test_rss_is_flat_over_repeated_save_and_load(tmp_path):
    result = run_measurement(f"""
        gan = gk.GAN(gk.MLP([2, 32, 2]), gk.MLP([2, 32, 1]), seed=0)
        gan.fit(gk.datasets.ring(n=512, seed=0), batch_size=32, max_iter=50)
        path = {str(tmp_path / "m.gk")!r}
        def cycle():
            gan.save(path)
            gk.GAN.load(path).sample(8)
        for _ in range(50):
            cycle()
        result["warm"] = rss_mb()
        for _ in range(1_000):
            cycle()
        result["after"] = rss_mb()
    """)
    check_growth(result, "1,000 save + load cycles")


def test_views_keep_their_network_alive_after_every_owner_is_dropped():
    """Views outlive the MLP, the GAN and a GAN loaded from disk; their memory stays
    valid (written and read after a collection), which ASan would flag otherwise."""
    import gc
    import weakref

    gan = gk.GAN(gk.MLP([2, 16, 2]), gk.MLP([2, 16, 1]), seed=0)
    gan.fit(gk.datasets.ring(n=256, seed=0), batch_size=32, max_iter=5)
    params, grads, layers = gan.G.params, gan.D.grads, gan.D.parameters()
    state = gan.G._net.optimizer_state
    expected = params.copy()
    mlp_ref, gan_ref = weakref.ref(gan.G), weakref.ref(gan)
    del gan
    gc.collect()
    assert mlp_ref() is None and gan_ref() is None  # the Python owners are gone...
    for _ in range(3):  # ...and the memory is still the network's, not reused
        junk = [np.ones(len(params), np.float32) * 7 for _ in range(50)]
        del junk
        gc.collect()
    np.testing.assert_array_equal(params, expected)
    params[:] = 1.5
    grads[:] = -2.0
    for w, b in layers:
        w[...] = 0.25
        b[...] = 0.5
    state[...] = 3.0
    assert float(params.sum()) == 1.5 * len(params) and float(grads.mean()) == -2.0
    assert all(float(w.mean()) == 0.25 and float(b.mean()) == 0.5 for w, b in layers)


def test_views_of_a_core_network_survive_its_wrapper():
    net = gk._core.Mlp([3, 5, 2])
    view = net.params
    base = view.base
    del net
    import gc
    gc.collect()
    view[:] = 2.0
    assert float(view.sum()) == 2.0 * view.size and base is not None
