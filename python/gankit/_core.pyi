# Type stub of gankit._core, the pybind11 module over the C++ core (python/bindings/),
# for editors and type checkers. Array arguments accept anything NumPy converts to
# float32 (they are validated and converted at the boundary); results are new arrays,
# except the Mlp and Gan views, which share the core's memory.
from collections.abc import Sequence
from typing import Any, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

_F32 = NDArray[np.float32]

# bind_build_info.cpp
MAX_ROWS: int
MAX_PACK: int
MAX_WIDTH: int
MAX_PARAMS: int
MAX_THREADS: int

# {"version", "compiler", "kernel", "elementwise_kernel", "available_kernels",
#  "openmp", "num_threads"}
def build_info() -> dict[str, Any]: ...
def num_threads() -> int: ...
def set_num_threads(n: int) -> None: ...
def serial_after_fork() -> bool: ...
def allocation_count() -> int: ...
def step_profile_enable(on: bool) -> None: ...
def step_profile_reset() -> None: ...
def step_profile() -> dict[str, tuple[float, int]]: ...

# bind_kernels.cpp
# out[j] = float(sum over ranks, in rank order, in float64, of gathered[r, j] / ranks)
def replica_mean(gathered: _F32, out: _F32) -> None: ...
def matmul(
    a: ArrayLike, b: ArrayLike, trans_a: bool = False, trans_b: bool = False, precision: str = "fp32"
) -> _F32: ...
def gemm_kernel() -> str: ...
def gemm_bf16_kernel() -> str: ...
def require_bf16_kernel(who: str) -> None: ...
def gemm_kernels() -> list[str]: ...
def select_gemm_kernel(name: str) -> None: ...
def fma_peak_gflops(seconds: float = 0.5) -> float: ...
def barrier_cost_us(threads: int = 2, barriers: int = 2000) -> float: ...
def dense_forward(
    x: ArrayLike, w: ArrayLike, b: ArrayLike, activation: str = "identity", slope: float = 0.2
) -> _F32: ...
def dense_backward(
    x: ArrayLike,
    w: ArrayLike,
    y: ArrayLike,
    d_y: ArrayLike,
    activation: str = "identity",
    slope: float = 0.2,
) -> tuple[_F32, _F32, _F32]: ...  # (d_w, d_b, d_x)
def activation_forward(x: ArrayLike, activation: str, slope: float = 0.2) -> _F32: ...
def activation_backward(y: ArrayLike, d_y: ArrayLike, activation: str, slope: float = 0.2) -> _F32: ...
def discriminator_loss(
    logits_real: ArrayLike, logits_fake: ArrayLike
) -> tuple[float, _F32, _F32]: ...  # (d_loss, d_logits_real, d_logits_fake)
def generator_loss(logits_fake: ArrayLike, kind: str) -> tuple[float, _F32]: ...  # (g_loss, d_logits)

# velocity defaults to None yet lr, after it, is required: lr by keyword, or all four
# by position.
@overload
def sgd_step(
    params: NDArray[np.float32],
    grads: ArrayLike,
    velocity: NDArray[np.float32] | None = None,
    *,
    lr: float,
    momentum: float = 0.0,
    weight_decay: float = 0.0,
) -> None: ...
@overload
def sgd_step(
    params: NDArray[np.float32],
    grads: ArrayLike,
    velocity: NDArray[np.float32] | None,
    lr: float,
    momentum: float = 0.0,
    weight_decay: float = 0.0,
) -> None: ...
def adam_step(
    params: NDArray[np.float32],
    grads: ArrayLike,
    m: NDArray[np.float32],
    v: NDArray[np.float32],
    step: int,
    lr: float,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
) -> None: ...

# bind_layers.cpp
def batchnorm_forward_training(
    z: ArrayLike,
    gamma: ArrayLike,
    beta: ArrayLike,
    running_mean: ArrayLike | None = None,
    running_var: ArrayLike | None = None,
    segments: Sequence[int] | None = None,
    eps: float = 1e-5,
    momentum: float = 0.1,
) -> tuple[_F32, _F32, _F32, _F32, _F32]: ...  # (y, mean, rstd, running_mean, running_var)
def batchnorm_backward_training(
    z: ArrayLike,
    gamma: ArrayLike,
    mean: ArrayLike,
    rstd: ArrayLike,
    d_y: ArrayLike,
    segments: Sequence[int] | None = None,
) -> tuple[_F32, _F32, _F32]: ...  # (d_z, d_gamma, d_beta)
def batchnorm_forward_inference(
    z: ArrayLike,
    gamma: ArrayLike,
    beta: ArrayLike,
    running_mean: ArrayLike,
    running_var: ArrayLike,
    eps: float = 1e-5,
) -> _F32: ...
def batchnorm_backward_inference(
    z: ArrayLike,
    gamma: ArrayLike,
    running_mean: ArrayLike,
    running_var: ArrayLike,
    d_y: ArrayLike,
    eps: float = 1e-5,
) -> tuple[_F32, _F32, _F32]: ...  # (d_z, d_gamma, d_beta)
def maxout_forward(z: ArrayLike, pieces: int) -> tuple[_F32, NDArray[np.uint8]]: ...  # (h, argmax)
def maxout_backward(d_h: ArrayLike, argmax: ArrayLike, pieces: int) -> _F32: ...
def dropout_forward(
    x: ArrayLike, p: float, seed: int, counter: int, layer: int = 0
) -> tuple[_F32, NDArray[np.uint8]]: ...  # (y, mask)
def dropout_backward(d_y: ArrayLike, mask: ArrayLike, p: float) -> _F32: ...
def dropout_bits(seed: int, counter: int, layer: int, n: int) -> NDArray[np.uint32]: ...

# bind_rng.cpp
class Rng:
    def __init__(self, seed: int) -> None: ...
    def normal(self, n: int) -> _F32: ...
    def uniform(self, n: int, low: float = -1.0, high: float = 1.0) -> _F32: ...
    @property
    def state(self) -> list[int]: ...
    @state.setter
    def state(self, value: Sequence[int]) -> None: ...

# bind_mlp.cpp
class ExclusiveUse:
    def __enter__(self) -> None: ...
    def __exit__(self, *args: object) -> bool: ...

class Mlp:
    def __init__(
        self,
        sizes: Sequence[int],
        hidden: str = "leaky_relu",
        output: str = "identity",
        slope: float = 0.2,
        batch_norm: bool = False,
        pieces: int = 1,
        dropout: float = 0.0,
    ) -> None: ...
    @property
    def sizes(self) -> list[int]: ...
    @property
    def hidden_activation(self) -> str: ...
    @property
    def output_activation(self) -> str: ...
    @property
    def slope(self) -> float: ...
    @property
    def batch_norm(self) -> bool: ...
    @property
    def pieces(self) -> int: ...
    @property
    def dropout(self) -> float: ...
    @property
    def num_buffers(self) -> int: ...
    @property
    def buffers(self) -> _F32: ...
    def buffer_views(self) -> list[tuple[_F32, _F32]]: ...  # [(running_mean, running_var), ...]
    @property
    def dropout_state(self) -> tuple[int, int]: ...  # (seed, counter)
    @dropout_state.setter
    def dropout_state(self, value: tuple[int, int]) -> None: ...
    @property
    def num_params(self) -> int: ...
    @property
    def params(self) -> _F32: ...
    @property
    def grads(self) -> _F32: ...
    @property
    def optimizer_state(self) -> _F32: ...
    # [(W, b), ...] per layer; batch-norm blocks give (W, b, gamma, beta).
    def param_views(self) -> list[tuple[_F32, ...]]: ...
    def grad_views(self) -> list[tuple[_F32, ...]]: ...
    def init_glorot(self, seed: int) -> None: ...
    def configure_optimizer(
        self,
        kind: str,
        lr: float,
        beta1: float = 0.5,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        schedule: str = "constant",
        schedule_steps: int = 0,
        final_lr: float = 0.0,
    ) -> None: ...
    @property
    def learning_rate(self) -> float: ...
    @property
    def optimizer_kind(self) -> str: ...
    @property
    def optimizer_step(self) -> int: ...
    @optimizer_step.setter
    def optimizer_step(self, value: int) -> None: ...
    def optimizer_update(self) -> None: ...
    def exclusive(self) -> ExclusiveUse: ...
    def forward(
        self, x: ArrayLike, training: bool = False, segments: Sequence[int] | None = None
    ) -> _F32: ...
    def forward_backward(
        self,
        x: ArrayLike,
        d_output: ArrayLike,
        training: bool = False,
        segments: Sequence[int] | None = None,
    ) -> _F32: ...

# bind_gan.cpp
class Gan:
    def __init__(
        self,
        generator: Mlp,
        discriminator: Mlp,
        noise_dim: int,
        g_loss: str = "non_saturating",
        noise: str = "normal",
        seed: int = 0,
        pack: int = 1,
        ema: float = 0.0,
    ) -> None: ...
    @property
    def pack(self) -> int: ...
    @property
    def ema(self) -> float: ...
    @property
    def average_params(self) -> _F32: ...
    @property
    def average_buffers(self) -> _F32: ...
    @property
    def noise_dim(self) -> int: ...
    @property
    def data_dim(self) -> int: ...
    @property
    def g_loss(self) -> str: ...
    @property
    def noise_kind(self) -> str: ...
    @property
    def rng_state(self) -> list[int]: ...
    @rng_state.setter
    def rng_state(self, value: Sequence[int]) -> None: ...
    # (d_loss, mean D(x) over the real batch, mean D(G(z)) over the fakes)
    def d_step(
        self, x_real: ArrayLike, z: ArrayLike | None = None, n_fake: int = 0, update: bool = True
    ) -> tuple[float, float, float]: ...
    # (g_loss, mean D(G(z)) before the generator's update)
    def g_step(
        self, z: ArrayLike | None = None, n: int = 0, update: bool = True
    ) -> tuple[float, float]: ...
    # The optimizer update of "D" or "G" after a step with update=False.
    def apply_update(self, network: str) -> None: ...
    def generate(self, z: ArrayLike | None = None, n: int = 0, averaged: bool = True) -> _F32: ...
    def discriminate(self, x: ArrayLike) -> _F32: ...
    def noise(self, n: int) -> _F32: ...
    # Rows [first_row, first_row + n) of a data-parallel step's noise (gan.h).
    def noise_shard(self, first_row: int, n: int) -> _F32: ...

# module.cpp
class ConcurrentUseError(RuntimeError): ...
