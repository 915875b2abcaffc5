"""The benchmark's iteration in plain float32 NumPy: what a user writes by hand.

Vectorised (one matmul per layer, no loop over rows), float32 throughout, Adam written
out. It mirrors gankit's d_step/g_step so a test can check it does the same work: same
losses and parameter updates from the same weights, noise and real batch.
"""
from __future__ import annotations

import numpy as np

from .configs import BETA1, BETA2, EPS, LEARNING_RATE, SLOPE

F32 = np.float32


def softplus(x):
    """log(1 + e^x) without overflow, in x's dtype."""
    return np.logaddexp(F32(0), x)


def sigmoid(x):
    """1 / (1 + e^-x) via tanh: no overflow for large |x| and no float64 temporaries."""
    return F32(0.5) * (F32(1) + np.tanh(F32(0.5) * x))


class NumpyMLP:
    """Dense layers with leaky ReLU hidden activations and an optional tanh output. Keeps
    each layer's input and pre-activation from the last forward for backward."""

    def __init__(self, weights, output=None, slope=SLOPE):
        self.weights = [np.array(w, F32) for w, _ in weights]
        self.biases = [np.array(b, F32) for _, b in weights]
        self.output, self.slope = output, F32(slope)
        self.grads = [np.zeros_like(p) for p in self.parameters()]
        self._inputs, self._pre, self._out = [], [], None

    def parameters(self):
        """W1, b1, W2, b2, ...: the arrays Adam updates in place."""
        return [p for pair in zip(self.weights, self.biases) for p in pair]

    def forward(self, x):
        self._inputs, self._pre = [], []
        h = x
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            self._inputs.append(h)
            a = h @ w + b
            self._pre.append(a)
            h = np.where(a > 0, a, self.slope * a) if i < last else a
        if self.output == "tanh":
            h = np.tanh(h)
        self._out = h
        return h

    def backward(self, d_out, want_param_grads=True, want_input_grad=False):
        """Gradients of the last forward's output; returns d input when asked. Skips the
        products nobody needs: weight gradients when D is held fixed, the first layer's
        input gradient when the input is data or noise."""
        d = d_out * (F32(1) - self._out * self._out) if self.output == "tanh" else d_out
        for i in reversed(range(len(self.weights))):
            if i < len(self.weights) - 1:
                a = self._pre[i]
                d = np.where(a > 0, d, self.slope * d)
            if want_param_grads:
                np.matmul(self._inputs[i].T, d, out=self.grads[2 * i])
                np.sum(d, axis=0, out=self.grads[2 * i + 1])
            if i > 0 or want_input_grad:
                d = d @ self.weights[i].T
        return d if want_input_grad else None


class NumpyAdam:
    """torch.optim.Adam's update (bias-corrected, no weight decay), in place, float32."""

    def __init__(self, params, lr=LEARNING_RATE, beta1=BETA1, beta2=BETA2, eps=EPS):
        self.params = params
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.step_count = 0

    def step(self, grads):
        self.step_count += 1
        step_size = F32(self.lr / (1 - self.beta1 ** self.step_count))
        inv_sqrt_c2 = F32(1 / np.sqrt(1 - self.beta2 ** self.step_count))
        b1, b2, eps = F32(self.beta1), F32(self.beta2), F32(self.eps)
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= b1
            m += (F32(1) - b1) * g
            v *= b2
            v += (F32(1) - b2) * (g * g)
            p -= step_size * m / (np.sqrt(v) * inv_sqrt_c2 + eps)


class NumpyGAN:
    """gankit.GAN's d_step/g_step (non-saturating loss, Adam on both) in float32 NumPy."""

    def __init__(self, g_weights, d_weights, g_output=None, seed=0):
        self.G, self.D = NumpyMLP(g_weights, g_output), NumpyMLP(d_weights)
        self.g_opt = NumpyAdam(self.G.parameters())
        self.d_opt = NumpyAdam(self.D.parameters())
        self.noise_dim = self.G.weights[0].shape[0]
        self.rng = np.random.default_rng(seed)

    def noise(self, n):
        return self.rng.standard_normal((n, self.noise_dim), dtype=F32)

    def d_step(self, x_real, z=None):
        """D loss = mean softplus(-D(x)) + mean softplus(D(G(z))); returns
        (d_loss, mean D(x), mean D(G(z))) like gankit's d_step."""
        n_real = len(x_real)
        fake = self.G.forward(self.noise(n_real) if z is None else z)
        logits = self.D.forward(np.concatenate([x_real, fake]))[:, 0]
        real_logits, fake_logits = logits[:n_real], logits[n_real:]
        d_loss = softplus(-real_logits).mean() + softplus(fake_logits).mean()
        d_logits = np.concatenate([-sigmoid(-real_logits) / F32(n_real),
                                   sigmoid(fake_logits) / F32(len(fake_logits))])
        self.D.backward(d_logits[:, None])
        self.d_opt.step(self.D.grads)
        return d_loss, sigmoid(real_logits).mean(), sigmoid(fake_logits).mean()

    def g_step(self, z=None, batch_size=None):
        """Non-saturating G loss = mean softplus(-D(G(z))), D held fixed; returns
        (g_loss, mean D(G(z))) like gankit's g_step."""
        z = self.noise(batch_size) if z is None else z
        logits = self.D.forward(self.G.forward(z))[:, 0]
        g_loss = softplus(-logits).mean()
        d_logits = -sigmoid(-logits) / F32(len(logits))
        d_fake = self.D.backward(d_logits[:, None], want_param_grads=False, want_input_grad=True)
        self.G.backward(d_fake)
        self.g_opt.step(self.G.grads)
        return g_loss, sigmoid(logits).mean()


# -- the benchmark worker's interface ---------------------------------------------------
_blas_limits = None  # kept alive: the BLAS thread limit holds while this object does


def setup_threads(threads: int) -> str:
    """NumPy's BLAS pinned to `threads` with threadpoolctl (the parent also sets
    OPENBLAS/MKL/OMP_NUM_THREADS in this worker's environment as a fallback)."""
    global _blas_limits
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        return f"threadpoolctl not installed: BLAS threads from OPENBLAS/MKL/OMP_NUM_THREADS={threads}"
    _blas_limits = threadpool_limits(limits=threads, user_api="blas")
    pools = [f"{p['internal_api']} {p['num_threads']} threads" for p in threadpool_info()
             if p["user_api"] == "blas"]
    return f"threadpoolctl.threadpool_limits({threads}, 'blas'): {', '.join(pools) or 'no BLAS found'}"


def versions() -> dict:
    out = {"numpy": np.__version__}
    try:
        from threadpoolctl import threadpool_info
        out["blas"] = [f"{p['internal_api']} {p.get('version')}" for p in threadpool_info()
                       if p["user_api"] == "blas"]
    except ImportError:
        pass
    return out


class NumpyIteration:
    """One benchmark iteration per call; z drawn from default_rng(seed), D's z first."""

    def __init__(self, config, g_weights, d_weights, real, seed):
        self.gan = NumpyGAN(g_weights, d_weights, config.g_output, seed=seed)
        self.real, self.batch = real, config.batch

    def __call__(self):
        d_loss = self.gan.d_step(self.real)[0]
        g_loss = self.gan.g_step(batch_size=self.batch)[0]
        return d_loss, g_loss

    def weights(self):
        """(G, D) weights now, as [(W (fan_in, fan_out), b), ...] float32 copies."""
        return tuple([(w.copy(), b.copy()) for w, b in zip(net.weights, net.biases)]
                     for net in (self.gan.G, self.gan.D))


make_iteration = NumpyIteration
