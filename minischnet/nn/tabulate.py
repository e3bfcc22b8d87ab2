"""Filters as tables: W(d) by cubic Hermite interpolation, for fast inference (MD, RPMD).

A SchNet filter W(d) depends on the pair distance alone, so for inference it can be stored on a
grid of knots d_k = k h (values W(d_k) and slopes W'(d_k), both exact, from the network itself)
and interpolated: on [d_k, d_k + h], with t = (d - d_k) / h,

    W(d) = h00(t) W_k + h01(t) W_k+1 + h10(t) h W'_k + h11(t) h W'_k+1

(cubic Hermite: W and W' are continuous, so forces are too). Its error is at most
h^4 / 384 max ‖W''''‖ per interval; ``SchNet.tabulate_filters`` measures it at the midpoints.
The four knots a pair needs are gathered and summed with their weights in one
``embedding_bag`` call, whose backward gives dW/dd for the forces.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def hermite_table(filter_fn, cutoff: float, spacing: float, device=None) -> torch.Tensor:
    """Knots of ``filter_fn`` (d (N,) -> W (N, F)) on [0, cutoff]: a (2N, F) table [W; h W'],
    float64."""
    n_knots = round(cutoff / spacing) + 1
    d = torch.linspace(0.0, cutoff, n_knots, dtype=torch.float64, device=device, requires_grad=True)
    with torch.enable_grad():
        W = filter_fn(d)  # (N, F)
        # W[k] depends on d[k] only, so the gradient of a column sum is that column's slope.
        slopes = [
            torch.autograd.grad(W[:, f].sum(), d, retain_graph=True)[0] for f in range(W.shape[1])
        ]
    h = cutoff / (n_knots - 1)
    return torch.cat([W.detach(), h * torch.stack(slopes, dim=1)])


def hermite_interpolate(d: torch.Tensor, table: torch.Tensor, cutoff: float) -> torch.Tensor:
    """W(d) (P, F) from a table of ``hermite_table``; zero at and beyond the cutoff."""
    n_knots = len(table) // 2
    x = d * ((n_knots - 1) / cutoff)  # distance in units of the knot spacing
    k = x.detach().floor().clamp(0, n_knots - 2)
    t = x - k  # (P,), carries the gradient
    t2, t3 = t * t, t * t * t
    weights = torch.stack(
        [2 * t3 - 3 * t2 + 1, -2 * t3 + 3 * t2, t3 - 2 * t2 + t, t3 - t2], dim=1
    )  # (P, 4)
    weights = weights * (x < n_knots - 1)[:, None]
    k = k.long()
    knots = torch.stack([k, k + 1, n_knots + k, n_knots + k + 1], dim=1)  # (P, 4) rows of the table
    return F.embedding_bag(knots, table, per_sample_weights=weights.to(table.dtype), mode="sum")
