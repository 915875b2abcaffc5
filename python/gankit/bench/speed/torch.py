"""The benchmark's iteration in PyTorch eager, written the way an expert makes it fast:

- D step: fakes generated under torch.no_grad() (no graph through G), real and fake rows
  concatenated into one batch (one GEMM per layer, as gankit does).
- G step: D's parameters set requires_grad_(False) for the step, so autograd computes only
  D's input gradients, not its weight gradients, then switched back.
- Noise drawn in place into preallocated buffers (normal_), zero_grad(set_to_none=True).
- Adam with fused=True (one fused CPU kernel over all parameters) where this torch has it,
  else foreach=True.
- precision "bf16": the forward passes under torch.autocast("cpu", dtype=torch.bfloat16),
  PyTorch's own mixed precision (linear layers in bf16, float32 master weights and Adam),
  the losses taken on float32 logits.
"""
from __future__ import annotations

import contextlib

from .configs import BETA1, BETA2, EPS, LEARNING_RATE, SLOPE


def setup_threads(threads: int) -> str:
    import torch
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set (only possible before any inter-op work)
        pass
    return (f"torch.set_num_threads({threads}), torch.set_num_interop_threads(1) "
            f"(now {torch.get_num_threads()} / {torch.get_num_interop_threads()})")


def versions() -> dict:
    import torch
    return {"torch": torch.__version__}


def _mlp(torch, sizes, weights, output):
    layers = []
    for i, (w, b) in enumerate(weights):
        linear = torch.nn.Linear(sizes[i], sizes[i + 1])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w.T.copy()))  # torch stores (out, in)
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
        if i < len(weights) - 1:
            layers.append(torch.nn.LeakyReLU(SLOPE))
    if output == "tanh":
        layers.append(torch.nn.Tanh())
    return torch.nn.Sequential(*layers)


def _adam(torch, params):
    kwargs = dict(lr=LEARNING_RATE, betas=(BETA1, BETA2), eps=EPS)
    try:
        return torch.optim.Adam(params, fused=True, **kwargs)
    except (RuntimeError, TypeError, ValueError):  # a torch without fused CPU Adam
        return torch.optim.Adam(params, foreach=True, **kwargs)


class TorchIteration:
    """One benchmark iteration per call. The noise comes from a torch.Generator seeded
    with `seed`: D step's z is its first draw, the G step's the second."""

    def __init__(self, config, g_weights, d_weights, real, seed, precision="fp32"):
        import torch
        self.torch = torch
        self.autocast = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if precision == "bf16" \
            else contextlib.nullcontext
        self.G = _mlp(torch, config.g_sizes, g_weights, config.g_output)
        self.D = _mlp(torch, config.d_sizes, d_weights, None)
        self.g_opt, self.d_opt = _adam(torch, list(self.G.parameters())), _adam(torch, list(self.D.parameters()))
        self.batch = config.batch
        self.x_real = torch.from_numpy(real)
        self.z_d, self.z_g = torch.empty(self.batch, config.noise_dim), torch.empty(self.batch, config.noise_dim)
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self):
        F, G, D, batch = self.torch.nn.functional, self.G, self.D, self.batch
        with self.torch.no_grad(), self.autocast():
            fake = G(self.z_d.normal_(generator=self.generator))
        with self.autocast():
            logits = D(self.torch.cat((self.x_real, fake.float()))).float()
        d_loss = F.softplus(-logits[:batch]).mean() + F.softplus(logits[batch:]).mean()
        self.d_opt.zero_grad(set_to_none=True)
        d_loss.backward()
        self.d_opt.step()

        D.requires_grad_(False)  # the G step needs D's input gradients only
        with self.autocast():
            logits = D(G(self.z_g.normal_(generator=self.generator))).float()
        g_loss = F.softplus(-logits).mean()
        self.g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        self.g_opt.step()
        D.requires_grad_(True)
        return d_loss.detach(), g_loss.detach()

    def weights(self):
        """(G, D) weights now, as [(W (fan_in, fan_out), b), ...] NumPy copies."""
        def pairs(net):
            linears = [m for m in net if isinstance(m, self.torch.nn.Linear)]
            return [(m.weight.detach().numpy().T.copy(), m.bias.detach().numpy().copy()) for m in linears]
        return pairs(self.G), pairs(self.D)


make_iteration = TorchIteration
