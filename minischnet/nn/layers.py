"""Small functions both PyTorch models share; each mirrors one in ``minischnet.reference``."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LN2 = math.log(2.0)
SOFTPLUS_EXACT_ABOVE = 40.0  # softplus(x) == x to float64 round-off above this


class _ShiftedSoftplus(torch.autograd.Function):
    """ssp(x) = ln(0.5 e^x + 0.5), forward and gradient side by side, both exact.

    Value: ``softplus`` returns x itself above its threshold; at PyTorch's default, 20, that is
    off by log1p(e^-20) = 2e-9. Above 40 the difference, e^-40 = 4e-18, is below half an ulp of x
    in float64, so with threshold 40 the value is exact to round-off everywhere (and e^40 is far
    from overflowing, even in float32). Gradient: ssp'(x) = sigmoid(x), the derivative of that
    value to round-off, so forces are -dE/dR of the energy computed, and reference and PyTorch
    agree to float64 round-off.

    The gradient is itself made of differentiable ops: training on forces differentiates twice,
    and sigmoid's own backward is one pass over each (pairs x features) tensor, where PyTorch's
    softplus double-backward costs about a dozen (benchmarks/bench_schnet_vs_pyg.py).
    """

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return F.softplus(x, threshold=SOFTPLUS_EXACT_ABOVE) - LN2

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * torch.sigmoid(x)  # d ssp / dx


def shifted_softplus(x: torch.Tensor) -> torch.Tensor:
    """ssp(x) = ln(0.5 e^x + 0.5) = softplus(x) - ln 2, so that ssp(0) = 0."""
    return _ShiftedSoftplus.apply(x)


def pair_vectors(R: torch.Tensor, idx_i, idx_j, offsets: torch.Tensor) -> torch.Tensor:
    """r_ij = R[j] - R[i] + offset_ij (P, 3), Å: the one place pair vectors are formed."""
    return R.index_select(0, idx_j) - R.index_select(0, idx_i) + offsets  # (P, 3)


def cosine_cutoff(d: torch.Tensor, cutoff: float) -> torch.Tensor:
    """f(d) = (cos(pi d / r_c) + 1) / 2 below r_c, 0 beyond."""
    inside = 0.5 * (torch.cos(d * (math.pi / cutoff)) + 1.0)
    return torch.where(d < cutoff, inside, torch.zeros_like(d))


def gaussian_expansion(d: torch.Tensor, centers: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    """d̂_k = exp(-gamma (d - mu_k)^2), (P,) -> (P, K).

    Values below e^-80 are set to exactly zero: invisible in float64 (< 2e-35), but in float32
    they are denormal numbers, which made a training step 1.6x slower.
    """
    arg = gamma * (d[:, None] - centers[None, :]) ** 2  # (P, K)
    return torch.exp(-arg) * (arg < 80)


def sum_over_neighbors(messages: torch.Tensor, receivers: torch.Tensor, n_atoms: int):
    """out[i] = sum of messages[p] over the pairs p received by atom i: the sum over j in (1).

    messages (P, F), receivers (P,) -> (n_atoms, F).
    """
    out = torch.zeros(n_atoms, messages.shape[1], dtype=messages.dtype, device=messages.device)
    return out.index_add_(0, receivers, messages)
