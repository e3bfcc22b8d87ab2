"""Small functions both PyTorch models share; each mirrors one in ``minischnet.reference``."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LN2 = math.log(2.0)


class _ShiftedSoftplus(torch.autograd.Function):
    """ssp with a hand-written gradient, ssp'(x) = sigmoid(x), itself made of differentiable ops.

    Training on forces differentiates twice. PyTorch's own softplus double-backward costs about a
    dozen passes over each (pairs x features) tensor; sigmoid's costs one, which makes a SchNet
    force-training step about a quarter faster (benchmarks/bench_schnet_vs_pyg.py).
    """

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return F.softplus(x) - LN2

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * torch.sigmoid(x)


def shifted_softplus(x: torch.Tensor) -> torch.Tensor:
    """ssp(x) = ln(0.5 e^x + 0.5) = softplus(x) - ln 2."""
    return _ShiftedSoftplus.apply(x)


def cosine_cutoff(d: torch.Tensor, cutoff: float) -> torch.Tensor:
    """f(d) = (cos(pi d / r_c) + 1) / 2 below r_c, 0 beyond."""
    return torch.where(d < cutoff, 0.5 * (torch.cos(d * (math.pi / cutoff)) + 1.0), torch.zeros_like(d))


def gaussian_expansion(d: torch.Tensor, centers: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    """d̂_k = exp(-gamma (d - mu_k)^2), (P,) -> (P, K)."""
    arg = gamma * (d[:, None] - centers[None, :]) ** 2
    return torch.exp(-arg) * (arg < 80)


def sum_over_neighbors(messages: torch.Tensor, dst: torch.Tensor, n_atoms: int) -> torch.Tensor:
    """out[i] = sum of messages[p] over pairs p with dst[p] == i (the sum over j in eq. 1)."""
    out = torch.zeros(n_atoms, messages.shape[1], dtype=messages.dtype, device=messages.device)
    return out.index_add_(0, dst, messages)
