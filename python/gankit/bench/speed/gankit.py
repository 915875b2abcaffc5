"""The benchmark's iteration in gankit: one d_step on the real batch and B fakes, then
one g_step on B fresh noise rows (each a single call into the C++ core)."""
from __future__ import annotations

from .configs import BETA1, BETA2, EPS, LEARNING_RATE, SLOPE


def setup_threads(threads: int) -> str:
    import gankit as gk
    gk.set_num_threads(threads)
    return f"gk.set_num_threads({threads})"


def versions() -> dict:
    import gankit as gk
    return {"gankit": gk.__version__, "gankit_build": gk.build_info()}


class GankitIteration:
    """One benchmark iteration per call: gan.d_step(real) then gan.g_step(batch_size=B),
    the noise drawn by gankit's own RNG in C++; precision "bf16": both networks' products
    on bfloat16 operands."""

    def __init__(self, config, g_weights, d_weights, real, seed, precision="fp32"):
        import gankit as gk
        G = gk.MLP(list(config.g_sizes), activation="leaky_relu", output=config.g_output, slope=SLOPE,
                   precision=precision)
        D = gk.MLP(list(config.d_sizes), activation="leaky_relu", slope=SLOPE, precision=precision)
        G.set_weights(g_weights)
        D.set_weights(d_weights)
        adam = gk.Adam(lr=LEARNING_RATE, beta1=BETA1, beta2=BETA2, eps=EPS)
        self.gan = gk.GAN(G, D, g_loss="non_saturating", d_optimizer=adam, g_optimizer=adam, seed=seed)
        self.real, self.batch = real, config.batch

    def __call__(self):
        d = self.gan.d_step(self.real)
        g = self.gan.g_step(batch_size=self.batch)
        return d.d_loss, g.g_loss

    def weights(self):
        return self.gan.G.get_weights(), self.gan.D.get_weights()


make_iteration = GankitIteration


def fma_peak_gflops(seconds: float) -> float:
    """Single-core float32 FMA peak, measured by the core's own FMA loop."""
    from gankit import _core
    return float(_core.fma_peak_gflops(seconds))
