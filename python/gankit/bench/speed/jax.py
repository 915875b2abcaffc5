"""The benchmark's iteration in JAX: the whole iteration (noise, D step, G step, Adam on
both) is one jax.jit-compiled function of the training state.

The state (parameters, Adam moments, step counts, PRNG key) is donated to the call, so
XLA updates it in place instead of allocating new buffers each iteration. Gradients are
taken w.r.t. D's parameters only in the D step (fakes under stop_gradient) and w.r.t. G's
only in the G step, so XLA drops the products nobody needs. Adam is written out (same
formula as torch.optim.Adam) so optax is not required. Each call blocks until the new
state is ready, as gankit's steps return only when done.

Threads cannot be set after import: for 1 thread the parent starts this worker with
XLA_FLAGS and pins it to one CPU; for n threads on a machine with more than n cores it
pins it to n CPUs; with as many threads as cores it leaves JAX at its default.
"""
from __future__ import annotations

from .configs import BETA1, BETA2, EPS, LEARNING_RATE, SLOPE

ONE_THREAD_XLA_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def setup_threads(threads: int) -> str:
    """Only describes: the parent set the flags and CPUs before this process imported JAX."""
    import os
    cpus = sorted(os.sched_getaffinity(0))
    flags = os.environ.get("XLA_FLAGS")
    how = f"XLA_FLAGS={flags!r} set before import" if flags else "JAX's default threading (no XLA_FLAGS)"
    return f"{how}, process on CPUs {cpus} (JAX sizes its thread pools from these)"


def versions() -> dict:
    import jax
    import jaxlib
    return {"jax": jax.__version__, "jaxlib": jaxlib.__version__,
            "jax_devices": [str(d) for d in jax.devices()]}


def _mlp(jax, params, x, output):
    last = len(params) - 1
    for i, (w, b) in enumerate(params):
        x = x @ w + b
        if i < last:
            x = jax.nn.leaky_relu(x, SLOPE)
    return jax.numpy.tanh(x) if output == "tanh" else x


def _adam(jax, params, grads, m, v, t):
    t = t + 1
    step_size = LEARNING_RATE / (1 - BETA1 ** t)
    inv_sqrt_c2 = 1 / jax.numpy.sqrt(1 - BETA2 ** t)
    tree_map = jax.tree_util.tree_map
    m = tree_map(lambda m, g: BETA1 * m + (1 - BETA1) * g, m, grads)
    v = tree_map(lambda v, g: BETA2 * v + (1 - BETA2) * (g * g), v, grads)
    params = tree_map(lambda p, m, v: p - step_size * m / (jax.numpy.sqrt(v) * inv_sqrt_c2 + EPS),
                      params, m, v)
    return params, m, v, t


def _compile_iteration(jax, config):
    jnp, softplus = jax.numpy, jax.nn.softplus
    batch, noise_dim = config.batch, config.noise_dim

    def iteration(state, real):
        key, key_d, key_g = jax.random.split(state["key"], 3)
        fake = jax.lax.stop_gradient(
            _mlp(jax, state["g"], jax.random.normal(key_d, (batch, noise_dim), jnp.float32), config.g_output))

        def d_loss_fn(d_params):
            logits = _mlp(jax, d_params, jnp.concatenate([real, fake]), None)[:, 0]
            return jnp.mean(softplus(-logits[:batch])) + jnp.mean(softplus(logits[batch:]))

        d_loss, d_grads = jax.value_and_grad(d_loss_fn)(state["d"])
        d, d_m, d_v, d_t = _adam(jax, state["d"], d_grads, state["d_m"], state["d_v"], state["d_t"])
        z = jax.random.normal(key_g, (batch, noise_dim), jnp.float32)

        def g_loss_fn(g_params):
            return jnp.mean(softplus(-_mlp(jax, d, _mlp(jax, g_params, z, config.g_output), None)))

        g_loss, g_grads = jax.value_and_grad(g_loss_fn)(state["g"])
        g, g_m, g_v, g_t = _adam(jax, state["g"], g_grads, state["g_m"], state["g_v"], state["g_t"])
        new_state = dict(g=g, d=d, g_m=g_m, g_v=g_v, d_m=d_m, d_v=d_v, g_t=g_t, d_t=d_t, key=key)
        return new_state, d_loss, g_loss

    return jax.jit(iteration, donate_argnums=0)


class JaxIteration:
    """One benchmark iteration per call. The PRNG key starts as jax.random.key(seed); each
    iteration splits it into (next key, D step's key, G step's key)."""

    def __init__(self, config, g_weights, d_weights, real, seed):
        import jax
        self.jax = jax
        jnp = jax.numpy
        g = [(jnp.asarray(w), jnp.asarray(b)) for w, b in g_weights]
        d = [(jnp.asarray(w), jnp.asarray(b)) for w, b in d_weights]
        zeros = lambda tree: jax.tree_util.tree_map(jnp.zeros_like, tree)  # noqa: E731
        self.state = dict(g=g, d=d, g_m=zeros(g), g_v=zeros(g), d_m=zeros(d), d_v=zeros(d),
                          g_t=jnp.float32(0), d_t=jnp.float32(0), key=jax.random.key(seed))
        self.step = _compile_iteration(jax, config)
        self.x_real = jnp.asarray(real)

    def __call__(self):
        state, d_loss, g_loss = self.step(self.state, self.x_real)
        self.state = self.jax.block_until_ready(state)  # the old state was donated
        return d_loss, g_loss

    def weights(self):
        import numpy as np
        def pairs(params):
            return [(np.array(w), np.array(b)) for w, b in params]
        return pairs(self.state["g"]), pairs(self.state["d"])


make_iteration = JaxIteration
