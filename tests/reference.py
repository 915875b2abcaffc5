"""An independent float64 NumPy reference of everything the C++ core computes.

Written from the formulas, not from the C++ code: activations, the dense layer, batch
normalisation (PyTorch BatchNorm1d's definition), maxout, dropout (its documented
counter-based hash), the GAN losses on logits, SGD and Adam, an MLP of such blocks, and
whole d_step/g_step training steps."""
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


# -- batch normalisation ---------------------------------------------------------------
BN_EPS = 1e-5
BN_MOMENTUM = 0.1


def batchnorm_forward(z, gamma, beta, eps=BN_EPS):
    """Training mode on one batch (rows >= 2): y and the cache (z_hat, mean, var) with the
    biased variance, as BatchNorm1d normalises."""
    z = np.asarray(z, np.float64)
    mean = z.mean(axis=0)
    var = ((z - mean) ** 2).mean(axis=0)
    z_hat = (z - mean) / np.sqrt(var + eps)
    return np.asarray(gamma, np.float64) * z_hat + np.asarray(beta, np.float64), (z_hat, mean, var)


def batchnorm_backward(d_y, gamma, cache, eps=BN_EPS):
    """(d_z, d_gamma, d_beta) of batchnorm_forward, by the chain rule through mean and var:
    d_z = (1 / (n sqrt(var + eps))) (n g - sum g - z_hat sum(g z_hat)) with g = d_y gamma."""
    z_hat, _, var = cache
    d_y = np.asarray(d_y, np.float64)
    n = d_y.shape[0]
    g = d_y * np.asarray(gamma, np.float64)
    d_z = (n * g - g.sum(axis=0) - z_hat * (g * z_hat).sum(axis=0)) / (n * np.sqrt(var + eps))
    return d_z, (d_y * z_hat).sum(axis=0), d_y.sum(axis=0)


def update_running(running_mean, running_var, mean, var, n, momentum=BN_MOMENTUM):
    """PyTorch's running statistics after one training batch of n rows: the unbiased
    variance enters the running variance."""
    return ((1 - momentum) * running_mean + momentum * mean,
            (1 - momentum) * running_var + momentum * var * n / (n - 1))


def batchnorm_segments_forward(z, gamma, beta, segments, running=None, eps=BN_EPS,
                               momentum=BN_MOMENTUM):
    """Each block of consecutive rows normalised on its own, running statistics updated
    once per block in order. Returns (y, caches, (running_mean, running_var))."""
    z = np.asarray(z, np.float64)
    running = (np.zeros(z.shape[1]), np.ones(z.shape[1])) if running is None else running
    ys, caches, start = [], [], 0
    for n in segments:
        y, cache = batchnorm_forward(z[start:start + n], gamma, beta, eps)
        ys.append(y)
        caches.append(cache)
        running = update_running(*running, cache[1], cache[2], n, momentum)
        start += n
    return np.concatenate(ys), caches, running


def batchnorm_segments_backward(d_y, gamma, caches, eps=BN_EPS):
    d_y = np.asarray(d_y, np.float64)
    d_zs, d_gamma, d_beta, start = [], 0.0, 0.0, 0
    for cache in caches:
        n = cache[0].shape[0]
        d_z, d_g, d_b = batchnorm_backward(d_y[start:start + n], gamma, cache, eps)
        d_zs.append(d_z)
        d_gamma, d_beta, start = d_gamma + d_g, d_beta + d_b, start + n
    return np.concatenate(d_zs), d_gamma, d_beta


def batchnorm_inference(z, gamma, beta, running_mean, running_var, eps=BN_EPS):
    """Inference mode: y and z_hat, normalised by the running statistics."""
    z_hat = (np.asarray(z, np.float64) - running_mean) / np.sqrt(np.asarray(running_var, np.float64) + eps)
    return np.asarray(gamma, np.float64) * z_hat + beta, z_hat


# -- maxout --------------------------------------------------------------------------
def maxout_forward(z, pieces):
    """Piece-major z (rows, units * pieces): column p * units + j is piece p of unit j.
    Returns (h, argmax); np.argmax returns the first maximum, so the lowest piece wins."""
    z = np.asarray(z, np.float64)
    slabs = z.reshape(z.shape[0], pieces, -1)
    return slabs.max(axis=1), slabs.argmax(axis=1)


def maxout_backward(d_h, argmax, pieces):
    d_h = np.asarray(d_h, np.float64)
    rows, units = d_h.shape
    d_z = np.zeros((rows, pieces, units))
    np.put_along_axis(d_z, np.asarray(argmax, np.int64)[:, None, :], d_h[:, None, :], axis=1)
    return d_z.reshape(rows, pieces * units)


# -- dropout -------------------------------------------------------------------------
# The counter-based mask documented in cpp/include/gankit/dropout.h, re-implemented.
_GOLDEN = 0x9E3779B97F4A7C15
_M64 = 2**64 - 1


def _finalise(x):
    """splitmix64's output function on uint64 values (NumPy arrays wrap modulo 2^64)."""
    x = np.asarray(x, np.uint64)
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def dropout_key(seed, counter, layer):
    k1 = int(_finalise(np.array([(seed + _GOLDEN) & _M64], np.uint64))[0])
    k2 = int(_finalise(np.array([k1 ^ counter], np.uint64))[0])
    return int(_finalise(np.array([((k2 + _GOLDEN) & _M64) ^ layer], np.uint64))[0])


def dropout_bits(seed, counter, layer, n):
    """The 32-bit hash of elements 0..n-1: splitmix64's output q = i // 2 from key, its
    high half for even i and its low half for odd i."""
    key = np.uint64(dropout_key(seed, counter, layer))
    index = np.arange(n, dtype=np.uint64)
    out = _finalise(key + (index // np.uint64(2) + np.uint64(1)) * np.uint64(_GOLDEN))
    high, low = out >> np.uint64(32), out & np.uint64(0xFFFFFFFF)
    return np.where(index % np.uint64(2) == 0, high, low).astype(np.uint32)


def dropout_mask(seed, counter, layer, shape, p):
    """True where an element is kept: bits >= floor(p 2^32)."""
    threshold = int(np.floor(np.float64(np.float32(p)) * 2.0**32))
    return (dropout_bits(seed, counter, layer, int(np.prod(shape))) >= threshold).reshape(shape)


def dropout_scale(p):
    """1 / (1 - p), rounded to float32 as the kernel applies it."""
    return float(np.float32(1.0 / (1.0 - np.float64(np.float32(p)))))


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
def scheduled_lr(lr, t, schedule="constant", steps=None, final_lr=0.0):
    """The learning rate of update t (1-based): constant, or linear / cosine from lr to
    final_lr over the first `steps` updates (written out here, independently of
    gankit.optim.learning_rate)."""
    if schedule == "constant":
        return lr
    p = min(t - 1, steps) / steps
    if schedule == "linear":
        return (1 - p) * lr + p * final_lr
    return final_lr + (lr - final_lr) * (1 + np.cos(np.pi * p)) / 2


class AdamRef:
    def __init__(self, n, lr, beta1=0.5, beta2=0.999, eps=1e-8, weight_decay=0.0, schedule="constant",
                 schedule_steps=None, final_lr=0.0):
        self.m = np.zeros(n)
        self.v = np.zeros(n)
        self.t = 0
        self.lr, self.b1, self.b2, self.eps, self.wd = lr, beta1, beta2, eps, weight_decay
        self.schedule = (schedule, schedule_steps, final_lr)

    def step(self, p, g):
        self.t += 1
        lr = scheduled_lr(self.lr, self.t, *self.schedule)
        g = g + self.wd * p
        self.m = self.b1 * self.m + (1 - self.b1) * g
        self.v = self.b2 * self.v + (1 - self.b2) * g * g
        m_hat = self.m / (1 - self.b1 ** self.t)
        v_hat = self.v / (1 - self.b2 ** self.t)
        return p - lr * m_hat / (np.sqrt(v_hat) + self.eps)


class SGDRef:
    def __init__(self, n, lr, momentum=0.0, weight_decay=0.0, schedule="constant", schedule_steps=None,
                 final_lr=0.0):
        self.velocity = np.zeros(n)
        self.t = 0
        self.lr, self.mu, self.wd = lr, momentum, weight_decay
        self.schedule = (schedule, schedule_steps, final_lr)

    def step(self, p, g):
        self.t += 1
        g = g + self.wd * p
        if self.mu > 0:
            self.velocity = self.mu * self.velocity + g
            g = self.velocity
        return p - scheduled_lr(self.lr, self.t, *self.schedule) * g


class AverageRef:
    """Generator averaging: after update t, avg = b avg + (1 - b) p with
    b = min(decay, (1 + t) / (10 + t)), starting from the initial parameters."""

    def __init__(self, params, decay):
        self.avg, self.decay = np.array(params, np.float64), decay

    def update(self, params, t):
        b = min(self.decay, (1 + t) / (10 + t))
        self.avg = b * self.avg + (1 - b) * np.asarray(params, np.float64)


# -- MLP -----------------------------------------------------------------------------
class MLPRef:
    """Weights as a list of float64 (W, b) or (W, b, gamma, beta); the same layout and
    blocks as gankit.MLP: dense -> [batch norm] -> activation or maxout -> [dropout] per
    hidden block, dense -> output activation last. Keeps its own running statistics and
    dropout (seed, counter), as the network does. precision="bf16" rounds the operands
    of every product more than 4 columns wide to bfloat16, as the core does."""

    def __init__(self, weights, activation, output, slope=0.2, batch_norm=False, pieces=None,
                 dropout=0.0, buffers=None, dropout_state=(0, 0), precision="fp32"):
        self.weights = [tuple(np.array(a, np.float64) for a in layer) for layer in weights]
        self.activation, self.output, self.slope = activation, output or "identity", slope
        self.batch_norm, self.pieces, self.dropout = batch_norm, pieces, dropout
        hidden = len(self.weights) - 1
        self.buffers = ([tuple(np.array(a, np.float64) for a in pair) for pair in buffers]
                        if buffers is not None else
                        [(np.zeros(w[1].size), np.ones(w[1].size)) for w in self.weights[:hidden]]
                        if batch_norm else [])
        self.dropout_seed, self.dropout_counter = dropout_state
        self.precision = precision

    @classmethod
    def of(cls, net):
        """The reference twin of a gankit.MLP, in its current state."""
        return cls(net.get_weights(), net.activation, net.output, net.slope, net.batch_norm,
                   net.pieces, net.dropout, net.get_buffers(), net._net.dropout_state,
                   net.precision)

    def product(self, a, b):
        """a @ b in float64, on bf16-rounded operands where the core's product is bf16
        (gankit/gemm.h: bf16 precision, more than 4 columns)."""
        if self.precision == "bf16" and b.shape[1] > 4:
            a, b = (round_to_bf16(np.asarray(m, np.float32)).astype(np.float64) for m in (a, b))
        return a @ b

    def acts(self):
        n = len(self.weights)
        hidden = "identity" if self.activation == "maxout" else self.activation
        return [self.output if i == n - 1 else hidden for i in range(n)]

    def forward(self, x, training=False, segments=None):
        """Returns the output and a cache for backward."""
        h = np.asarray(x, np.float64)
        segments = [h.shape[0]] if segments is None else list(segments)
        n_blocks, call = len(self.weights), self.dropout_counter
        if training and self.dropout > 0:
            self.dropout_counter += 1
        blocks = []
        for l, (layer, act) in enumerate(zip(self.weights, self.acts())):
            hidden = l < n_blocks - 1
            block = {"x": h}
            z = self.product(h, layer[0]) + layer[1]
            u = z
            if hidden and self.batch_norm:
                gamma, beta = layer[2], layer[3]
                if training:
                    u, block["bn"], self.buffers[l] = batchnorm_segments_forward(
                        z, gamma, beta, segments, self.buffers[l])
                else:
                    u, block["z_hat"] = batchnorm_inference(z, gamma, beta, *self.buffers[l])
            block["pre_act"] = u
            h = act_forward(u, act, self.slope)
            if hidden and self.pieces:
                h, block["argmax"] = maxout_forward(h, self.pieces)
            if hidden and self.dropout > 0 and training:
                block["mask"] = dropout_mask(self.dropout_seed, call, l, h.shape, self.dropout)
                h = h * block["mask"] * dropout_scale(self.dropout)
            blocks.append(block)
        return h, (blocks, training)

    def backward(self, cache, d_out):
        """Returns (per layer (d_w, d_b[, d_gamma, d_beta]), d_input)."""
        blocks, training = cache
        grads, d = [None] * len(self.weights), np.asarray(d_out, np.float64)
        for l in reversed(range(len(self.weights))):
            block, layer, act = blocks[l], self.weights[l], self.acts()[l]
            if "mask" in block:
                d = d * block["mask"] * dropout_scale(self.dropout)
            if "argmax" in block:
                d = maxout_backward(d, block["argmax"], self.pieces)
            d = d * act_derivative(block["pre_act"], act, self.slope)
            extra = ()
            if "bn" in block:
                d, d_gamma, d_beta = batchnorm_segments_backward(d, layer[2], block["bn"])
                extra = (d_gamma, d_beta)
            elif "z_hat" in block:
                d_gamma, d_beta = (d * block["z_hat"]).sum(axis=0), d.sum(axis=0)
                d = d * layer[2] / np.sqrt(self.buffers[l][1] + BN_EPS)
                extra = (d_gamma, d_beta)
            # d_b rides on the weight gradient's product as its row of ones (dense.cpp).
            ones_and_x = np.vstack([block["x"].T, np.ones((1, len(d)))])
            d_wb = self.product(ones_and_x, d)
            grads[l] = (d_wb[:-1], d_wb[-1]) + extra
            d = self.product(d, layer[0].T)
        return grads, d

    def flat(self):
        return np.concatenate([a.ravel() for layer in self.weights for a in layer])

    def set_flat(self, flat):
        out, i = [], 0
        for layer in self.weights:
            arrays = []
            for a in layer:
                arrays.append(np.array(flat[i:i + a.size]).reshape(a.shape))
                i += a.size
            out.append(tuple(arrays))
        self.weights = out


def flatten_grads(grads):
    return np.concatenate([a.ravel() for layer in grads for a in layer])


# -- GAN steps ------------------------------------------------------------------------
class GANRef:
    """The reference trainer: the same steps as gankit.GAN.d_step/g_step, in float64.
    pack = m: D judges packs of m consecutive rows, concatenated (PacGAN), and the losses
    average over packs."""

    def __init__(self, G: MLPRef, D: MLPRef, g_loss_kind, d_opt, g_opt, pack=1):
        self.G, self.D, self.kind, self.d_opt, self.g_opt = G, D, g_loss_kind, d_opt, g_opt
        self.pack = pack

    def packs(self, x):
        x = np.asarray(x, np.float64)
        return x.reshape(len(x) // self.pack, self.pack * x.shape[1])

    def d_step(self, x_real, z):
        """Both networks in training mode. D runs once on [x_real; G(z)] as two segments,
        which for batch norm equals two separate calls D(x_real), D(G(z)) (a test checks
        that) and gives dropout one mask over the stacked batch, as the core does."""
        x_fake, _ = self.G.forward(z, training=True)
        real, fake = self.packs(x_real), self.packs(x_fake)
        n_real = len(real)
        logits, cache = self.D.forward(np.concatenate([real, fake]), training=True,
                                       segments=[n_real, len(fake)])
        loss, d_real, d_fake = d_loss(logits[:n_real, 0], logits[n_real:, 0])
        grads, _ = self.D.backward(cache, np.concatenate([d_real, d_fake])[:, None])
        self.D.set_flat(self.d_opt.step(self.D.flat(), flatten_grads(grads)))
        return loss, sigmoid(logits[:n_real]).mean(), sigmoid(logits[n_real:]).mean()

    def g_step(self, z):
        x_fake, cache_g = self.G.forward(z, training=True)
        logits, cache_d = self.D.forward(self.packs(x_fake), training=True)
        loss, d_logits = g_loss(logits[:, 0], self.kind)
        _, d_packs = self.D.backward(cache_d, d_logits[:, None])
        grads, _ = self.G.backward(cache_g, d_packs.reshape(x_fake.shape))
        self.G.set_flat(self.g_opt.step(self.G.flat(), flatten_grads(grads)))
        return loss, sigmoid(logits).mean()


def matmul_tolerance(a, b):
    """A rigorous bound on float32 GEMM rounding error: K u sum_p |a_ip||b_pj|, with
    u the float32 unit roundoff, plus the final rounding of the result."""
    a = np.abs(np.asarray(a, np.float64))
    b = np.abs(np.asarray(b, np.float64))
    k = a.shape[1]
    return (k + 2) * F32_EPS * (a @ b) + 1e-30


def round_to_bf16(x):
    """float32 to the nearest bfloat16 (ties to even), as float32, by integer arithmetic
    on the bits: NaN stays NaN, subnormals become zeros of their sign (as the CPU's
    vcvtne2ps2bf16 does), the largest floats round up to infinity."""
    bits = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    magnitude = bits & 0x7FFFFFFF
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    rounded = np.where(magnitude < 0x00800000, bits & 0x80000000, rounded)
    rounded = np.where(magnitude > 0x7F800000, (bits | 0x00400000) & 0xFFFF0000, rounded)
    return rounded.astype(np.uint32).view(np.float32)


def bf16_matmul_tolerance(a, b):
    """The bound for a bf16 product against float64 on the *unrounded* operands: each
    operand's rounding (relative 2^-9) twice, on top of float32 accumulation."""
    return (2 * 2.0**-8 + 2.0**-16) * (np.abs(np.asarray(a, np.float64)) @ np.abs(np.asarray(b, np.float64))) \
        + matmul_tolerance(a, b)
