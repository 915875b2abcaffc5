"""The GEMM's cache blocking: what build_info reports, the GANKIT_GEMM_BLOCKING override,
and the claim that only kc decides the bits (mc and nc reorder independent tiles)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import gankit as gk

# Products that cross several mc, kc and nc blocks at small overridden sizes, and one
# short training run: printed as hex so the parent compares them bit for bit.
_PRODUCTS = r"""
import json, sys, numpy as np, gankit as gk
rng = np.random.default_rng(3)
out = {"blocking": gk.build_info()["gemm_blocking"]}
for m, k, n in [(97, 211, 83), (256, 784, 130), (31, 1000, 67)]:
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    out[f"{m}x{k}x{n}"] = gk._core.matmul(a, b).tobytes().hex()
gan = gk.GAN(gk.MLP([4, 40, 24]), gk.MLP([24, 40, 1]), seed=11)
real = rng.standard_normal((64, 24), dtype=np.float32)
for _ in range(5):
    gan.d_step(real)
    gan.g_step(batch_size=64)
out["G"] = np.asarray(gan.G.params).tobytes().hex()
json.dump(out, sys.stdout)
"""


def _run(blocking=None, kernel=None):
    env = dict(os.environ)
    env.pop("GANKIT_GEMM_BLOCKING", None)
    if blocking is not None:
        env["GANKIT_GEMM_BLOCKING"] = blocking
    if kernel is not None:
        env["GANKIT_GEMM_KERNEL"] = kernel
    done = subprocess.run([sys.executable, "-c", _PRODUCTS], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


def test_build_info_reports_the_caches_and_the_blocking():
    info = gk.build_info()
    blocking = info["gemm_blocking"]
    assert blocking["kc"] >= 1 and blocking["mc"] >= 1 and blocking["nc"] >= 1
    assert blocking["source"].split("+")[0] in {"model", "kernel"}
    caches = info["caches"]
    assert caches["source"] in {"sysfs", "cpuid", "unknown"}
    if caches["source"] == "unknown":
        assert caches["l1d"]["size_bytes"] == 0
    else:
        l1 = caches["l1d"]
        assert 4096 <= l1["size_bytes"] <= 1 << 22 and l1["ways"] >= 1 and l1["line_bytes"] >= 16
        if caches["l2"]["size_bytes"]:
            assert caches["l2"]["size_bytes"] > l1["size_bytes"]


@pytest.mark.parametrize("kernel", gk._core.gemm_kernels())
def test_mc_and_nc_do_not_change_the_bits(kernel):
    default, _ = _run(kernel=kernel)
    kc = default["blocking"]["kc"]
    small, _ = _run(f"kc={kc},mc=12,nc=48", kernel=kernel)
    assert small["blocking"]["kc"] == kc and small["blocking"]["mc"] < default["blocking"]["mc"]
    assert small["blocking"]["source"].endswith("+GANKIT_GEMM_BLOCKING")
    for key, value in default.items():
        if key != "blocking":
            assert small[key] == value, f"{key} differs with mc=12, nc=48"


def test_an_overridden_kc_is_used_and_still_correct():
    code = r"""
import json, sys, numpy as np, gankit as gk
rng = np.random.default_rng(0)
a = rng.standard_normal((50, 301), dtype=np.float32)
b = rng.standard_normal((301, 40), dtype=np.float32)
c = gk._core.matmul(a, b)
ref = a.astype(np.float64) @ b.astype(np.float64)
json.dump({"blocking": gk.build_info()["gemm_blocking"],
           "err": float(np.abs(c - ref).max()), "scale": float(np.abs(ref).max())}, sys.stdout)
"""
    env = dict(os.environ, GANKIT_GEMM_BLOCKING="kc=64")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["blocking"]["kc"] == 64
    assert result["err"] <= 1e-5 * result["scale"] * 301 ** 0.5


@pytest.mark.parametrize("value", ["kc", "kc=0", "kc=abc", "mc=-3", "pc=10", "kc=64,", "kc=9999999"])
def test_a_bad_override_warns_and_is_ignored(value):
    default, _ = _run()
    result, stderr = _run(value)
    assert f"ignoring GANKIT_GEMM_BLOCKING={value}" in stderr
    assert result["blocking"] == default["blocking"]
    assert result["G"] == default["G"]
