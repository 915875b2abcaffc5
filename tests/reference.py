"""An independent float64 NumPy reference of everything the C++ core computes.

Written from the formulas, not from the C++ code: activations, the dense layer, the GAN
losses on logits, SGD and Adam, an MLP, and whole d_step/g_step training steps."""
from __future__ import annotations

import numpy as np

F32_EPS = float(np.finfo(np.float32).eps)


# -- activations ----------------------------------------------------------------------
def act_forward(x, name, slope=0.2):
    x = np.asarray(x, np.float64)
    if name == "identity":
        return x.copy()
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "leaky_relu":
        return np.where(x > 0, x, slope * x)
    if name == "tanh":
        return np.tanh(x)
    if name == "sigmoid":
        return sigmoid(x)
    raise ValueError(name)


def act_derivative(x, name, slope=0.2):
    """d act / d x at the pre-activation x."""
    x = np.asarray(x, np.float64)
    if name == "identity":
        return np.ones_like(x)
    if name == "relu":
        return (x > 0).astype(np.float64)
    if name == "leaky_relu":
        return np.where(x > 0, 1.0, slope)
    if name == "tanh":
        return 1.0 - np.tanh(x) ** 2
    if name == "sigmoid":
        s = sigmoid(x)
        return s * (1 - s)
    raise ValueError(name)


def sigmoid(x):
    x = np.asarray(x, np.float64)
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def softplus(x):
    x = np.asarray(x, np.float64)
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


# -- dense layer ---------------------------------------------------------------------
def dense_forward(x, w, b, act="identity", slope=0.2):
    """Returns (y, z): the output and the pre-activation."""
    z = np.asarray(x, np.float64) @ np.asarray(w, np.float64) + np.asarray(b, np.float64)
    return act_forward(z, act, slope), z


def dense_backward(x, w, z, d_y, act="identity", slope=0.2):
    """Returns (d_w, d_b, d_x) from the pre-activation z."""
    d_z = np.asarray(d_y, np.float64) * act_derivative(z, act, slope)
    x = np.asarray(x, np.float64)
    return x.T @ d_z, d_z.sum(axis=0), d_z @ np.asarray(w, np.float64).T


# -- losses --------------------------------------------------------------------------
def d_loss(logits_real, logits_fake):
    """-(E log D(x) + E log(1 - D(G(z)))) and its gradients w.r.t. the logits."""
    lr = np.asarray(logits_real, np.float64)
    lf = np.asarray(logits_fake, np.float64)
    loss = softplus(-lr).mean() + softplus(lf).mean()
    return loss, -sigmoid(-lr) / lr.size, sigmoid(lf) / lf.size


def g_loss(logits_fake, kind):
    lf = np.asarray(logits_fake, np.float64)
    if kind == "minimax":  # mean log(1 - D)
        return -softplus(lf).mean(), -sigmoid(lf) / lf.size
    if kind == "non_saturating":  # mean -log D
        return softplus(-lf).mean(), -sigmoid(-lf) / lf.size
    raise ValueError(kind)


# -- optimizers ----------------------------------------------------------------------
class AdamRef:
    def __init__(self, n, lr, beta1=0.5, beta2=0.999, eps=1e-8, weight_decay=0.0):
        self.m = np.zeros(n)
        self.v = np.zeros(n)
        self.t = 0
        self.lr, self.b1, self.b2, self.eps, self.wd = lr, beta1, beta2, eps, weight_decay

    def step(self, p, g):
        self.t += 1
        g = g + self.wd * p
        self.m = self.b1 * self.m + (1 - self.b1) * g
        self.v = self.b2 * self.v + (1 - self.b2) * g * g
        m_hat = self.m / (1 - self.b1 ** self.t)
        v_hat = self.v / (1 - self.b2 ** self.t)
        return p - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class SGDRef:
    def __init__(self, n, lr, momentum=0.0, weight_decay=0.0):
        self.velocity = np.zeros(n)
        self.lr, self.mu, self.wd = lr, momentum, weight_decay

    def step(self, p, g):
        g = g + self.wd * p
        if self.mu > 0:
            self.velocity = self.mu * self.velocity + g
            g = self.velocity
        return p - self.lr * g


# -- MLP -----------------------------------------------------------------------------
class MLPRef:
    """Weights as a list of float64 (W, b); the same layout as gankit.MLP."""

    def __init__(self, weights, activation, output, slope=0.2):
        self.weights = [(np.array(w, np.float64), np.array(b, np.float64)) for w, b in weights]
        self.activation, self.output, self.slope = activation, output or "identity", slope

    def acts(self):
        n = len(self.weights)
        return [self.output if i == n - 1 else self.activation for i in range(n)]

    def forward(self, x):
        """Returns the output and a cache for backward."""
        cache, h = [], np.asarray(x, np.float64)
        for (w, b), act in zip(self.weights, self.acts()):
            y, z = dense_forward(h, w, b, act, self.slope)
            cache.append((h, z))
            h = y
        return h, cache

    def backward(self, cache, d_out):
        """Returns ([(d_w, d_b), ...], d_input)."""
        grads, d = [None] * len(self.weights), np.asarray(d_out, np.float64)
        for i in reversed(range(len(self.weights))):
            h, z = cache[i]
            d_w, d_b, d = dense_backward(h, self.weights[i][0], z, d, self.acts()[i], self.slope)
            grads[i] = (d_w, d_b)
        return grads, d

    def flat(self):
        return np.concatenate([np.concatenate([w.ravel(), b]) for w, b in self.weights])

    def set_flat(self, flat):
        out, i = [], 0
        for w, b in self.weights:
            nw = w.size
            out.append((flat[i:i + nw].reshape(w.shape), flat[i + nw:i + nw + b.size].copy()))
            i += nw + b.size
        self.weights = out


def flatten_grads(grads):
    return np.concatenate([np.concatenate([d_w.ravel(), d_b]) for d_w, d_b in grads])


# -- GAN steps ------------------------------------------------------------------------
class GANRef:
    """The reference trainer: the same steps as gankit.GAN.d_step/g_step, in float64."""

    def __init__(self, G: MLPRef, D: MLPRef, g_loss_kind, d_opt, g_opt):
        self.G, self.D, self.kind, self.d_opt, self.g_opt = G, D, g_loss_kind, d_opt, g_opt

    def d_step(self, x_real, z):
        x_fake, _ = self.G.forward(z)
        logits_real, cache_real = self.D.forward(x_real)
        logits_fake, cache_fake = self.D.forward(x_fake)
        loss, d_real, d_fake = d_loss(logits_real[:, 0], logits_fake[:, 0])
        g_real, _ = self.D.backward(cache_real, d_real[:, None])
        g_fake, _ = self.D.backward(cache_fake, d_fake[:, None])
        grad = flatten_grads(g_real) + flatten_grads(g_fake)
        self.D.set_flat(self.d_opt.step(self.D.flat(), grad))
        return loss, sigmoid(logits_real).mean(), sigmoid(logits_fake).mean()

    def g_step(self, z):
        x_fake, cache_g = self.G.forward(z)
        logits, cache_d = self.D.forward(x_fake)
        loss, d_logits = g_loss(logits[:, 0], self.kind)
        _, d_x = self.D.backward(cache_d, d_logits[:, None])
        grads, _ = self.G.backward(cache_g, d_x)
        self.G.set_flat(self.g_opt.step(self.G.flat(), flatten_grads(grads)))
        return loss, sigmoid(logits).mean()


def matmul_tolerance(a, b):
    """A rigorous bound on float32 GEMM rounding error: K u sum_p |a_ip||b_pj|, with
    u the float32 unit roundoff, plus the final rounding of the result."""
    a = np.abs(np.asarray(a, np.float64))
    b = np.abs(np.asarray(b, np.float64))
    k = a.shape[1]
    return (k + 2) * F32_EPS * (a @ b) + 1e-30
