"""gankit: a CPU GAN toolkit whose hot paths are C++ with SIMD and OpenMP.

    import gankit as gk
    G = gk.MLP([2, 128, 128, 2], output="tanh")
    D = gk.MLP([2, 128, 128, 1])
    gan = gk.GAN(G, D, g_loss="non_saturating", seed=0)
    gan.d_step(x_real); gan.g_step(batch_size=256)
"""
from . import _core, datasets, distributed, metrics, profiling
from ._core import ConcurrentUseError
from .file_format import CheckpointError
from .gan import GAN, DStepResult, GStepResult
from .history import History
from .nn import MLP
from .optim import SGD, Adam
from .sweeps import sweep
from ._version import __version__


def build_info() -> dict:
    """Compiler, GEMM micro-kernel in use and its cache blocking (``gemm_blocking``: kc,
    mc, nc and where they came from), the caches they were derived from (``caches``),
    OpenMP and thread count of the core. Results are bitwise reproducible for a given
    ``kernel`` and ``gemm_blocking["kc"]``."""
    return dict(_core.build_info())


_threads_set_by_caller = False  # set_num_threads was called: data-parallel fit keeps its choice


def set_num_threads(n: int) -> None:
    """Threads for every kernel of the core (default: OMP_NUM_THREADS, else all cores;
    in data-parallel training the cores divided among the ranks on each machine), 1 to
    1024. In a forked child that must run serially (docs/reliability.md, fork), it stays
    1 and a RuntimeWarning says why."""
    global _threads_set_by_caller
    from ._validation import MAX_THREADS, integer
    n = integer(n, "n", low=1, high=MAX_THREADS)
    _core.set_num_threads(n)
    _threads_set_by_caller = True
    if n > 1 and _core.serial_after_fork():
        import warnings
        warnings.warn("set_num_threads: this process was forked from one whose OpenMP thread "
                      "pool could not be released, so its kernels stay on one thread (use the "
                      "'spawn' or 'forkserver' start method for parallel workers)",
                      RuntimeWarning, stacklevel=2)


def get_num_threads() -> int:
    return int(_core.num_threads())


__all__ = ["GAN", "MLP", "Adam", "SGD", "DStepResult", "GStepResult", "History",
           "ConcurrentUseError", "CheckpointError", "datasets", "distributed", "metrics", "profiling",
           "sweep", "build_info", "set_num_threads", "get_num_threads", "__version__"]
