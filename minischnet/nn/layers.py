"""Small functions both PyTorch models share; each mirrors one in ``minischnet.reference``."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LN2 = math.log(2.0)


def shifted_softplus(x: torch.Tensor) -> torch.Tensor:
    """ssp(x) = ln(0.5 e^x + 0.5) = softplus(x) - ln 2."""
    return F.softplus(x) - LN2


def cosine_cutoff(d: torch.Tensor, cutoff: float) -> torch.Tensor:
    """f(d) = (cos(pi d / r_c) + 1) / 2 below r_c, 0 beyond."""
    return torch.where(d < cutoff, 0.5 * (torch.cos(d * (math.pi / cutoff)) + 1.0), torch.zeros_like(d))


def gaussian_expansion(d: torch.Tensor, centers: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    """d̂_k = exp(-gamma (d - mu_k)^2), (P,) -> (P, K)."""
    return torch.exp(-gamma * (d[:, None] - centers[None, :]) ** 2)


def sum_over_neighbors(messages: torch.Tensor, dst: torch.Tensor, n_atoms: int) -> torch.Tensor:
    """out[i] = sum of messages[p] over pairs p with dst[p] == i (the sum over j in eq. 1)."""
    out = torch.zeros(n_atoms, messages.shape[1], dtype=messages.dtype, device=messages.device)
    return out.index_add_(0, dst, messages)
