import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import gankit as gk

settings.register_profile(
    "gankit", deadline=None, max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("thorough", parent=settings.get_profile("gankit"), max_examples=400)
settings.load_profile(os.environ.get("GANKIT_HYPOTHESIS_PROFILE", "gankit"))


@pytest.fixture(autouse=True)
def _restore_threads_and_kernel():
    """Tests that change the thread count or GEMM micro-kernel leave them as found."""
    threads, kernel = gk.get_num_threads(), gk._core.gemm_kernel()
    yield
    gk.set_num_threads(threads)
    gk._core.select_gemm_kernel(kernel)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


KERNELS = gk._core.gemm_kernels()
