"""SchNet (Schütt et al., NeurIPS 2017; J. Chem. Phys. 148, 241722 (2018)) in PyTorch.

The same function as ``minischnet.reference.schnet_energy``; read that one first.
Speed comes from two things the reference does not do:
  * each pair is stored once (i < j): the filter W(d_ij) depends on d_ij only, so it is
    computed once per pair and used for both directions j -> i and i -> j;
  * shifted softplus has a cheap second derivative (``layers.shifted_softplus``), which
    training on forces needs.

Published SchNet implementations differ in four details; the defaults here are the thesis's
(and the reference's), the alternatives are switches, compared on QM9 in tutorial 4:
  * ``rbf_width``: width of the Gaussians (default: their spacing, gamma = 1 / (2 width^2));
    the NeurIPS paper used 0.1 Å spacing with gamma = 10 Å^-2, i.e. a width of 0.22 Å;
  * ``cosine_cutoff``: the filter times f(d) = (cos(pi d / r_c) + 1) / 2 (default), or a hard
    cut at r_c (False: the energy jumps when a neighbour crosses r_c);
  * ``filter_activation``: ssp after the filter network's second layer (default) or none
    (PyTorch Geometric's and schnetpack's choice);
  * ``output_activation``: the read-out network's activation, "ssp" (default), "silu" or "tanh".
Only ``rbf_width`` exists in the reference too (it is the stored gamma); the others are
PyTorch-only, and ``to_reference`` refuses a model that uses them.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F_
from torch import nn

from .base import AtomisticModel, _check_interactions
from .layers import shifted_softplus, sum_over_neighbors
from .tabulate import hermite_interpolate, hermite_table


def cfconv(h: torch.Tensor, W: torch.Tensor, idx_i, idx_j) -> torch.Tensor:
    """Eq. (4), the continuous-filter convolution: y_i = sum_j h_j o W(d_ij).

    h (n, F) atom features, W (P, F) the filter of each stored pair, idx_i, idx_j (P,).
    W(d_ij) = W(d_ji), so one filter serves both directions of a pair: the filter network runs
    once per pair, and each pair sends h_j to i and h_i to j.
    """
    y = sum_over_neighbors(h.index_select(0, idx_j) * W, idx_i, len(h))  # (n, F): messages j -> i
    return y.index_add_(0, idx_j, h.index_select(0, idx_i) * W)  # (n, F): and i -> j, same filter


class SchNetInteraction(nn.Module):
    """One interaction block: atom-wise -> cfconv (4) -> atom-wise, ssp -> atom-wise; returns v."""

    def __init__(self, n_features: int, n_rbf: int, filter_activation: bool = True):
        super().__init__()
        self.filter_activation = filter_activation
        F = n_features
        self.in2f = nn.Linear(F, F, bias=False)
        self.filter1 = nn.Linear(n_rbf, F)
        self.filter2 = nn.Linear(F, F)
        self.f2out = nn.Linear(F, F)
        self.dense = nn.Linear(F, F)

    def pair_input(self, rbf, fcut):
        """What this block needs of each pair: its filter W(d_ij), (P, F)."""
        return self.filter(rbf, fcut)

    def filter(self, rbf, fcut):
        """The filter-generating network: W(d) = ssp(ssp(rbf W1 + b1) W2 + b2) f(d).

        rbf (P, K), fcut (P,) -> W (P, F).
        """
        W = self.filter2(shifted_softplus(self.filter1(rbf)))  # (P, F)
        if self.filter_activation:
            W = shifted_softplus(W)
        return W * fcut[:, None]  # (P, F)

    def forward(self, x, W, idx_i, idx_j):
        """v of eq. (1): x (n, F) and the pairs' filters W (P, F) -> (n, F)."""
        h = self.in2f(x)  # (n, F)
        y = cfconv(h, W, idx_i, idx_j)  # (n, F), eq. (4)
        return self.dense(shifted_softplus(self.f2out(y)))  # (n, F)


class SchNet(AtomisticModel):
    """SchNet: E = sum_i NN_E(x_i^(T)) with continuous-filter convolutions (eqs. 1, 3, 4)."""

    kind = "schnet"

    #: the implementation choices (see the module docstring) and their thesis defaults
    VARIANT_DEFAULTS = dict(
        rbf_width=None, cosine_cutoff=True, filter_activation=True, output_activation="ssp"
    )
    OUTPUT_ACTIVATIONS = {"ssp": shifted_softplus, "silu": F_.silu, "tanh": torch.tanh}

    def __init__(
        self,
        n_features=128,
        n_interactions=3,
        n_rbf=20,
        cutoff=5.0,
        max_z=100,
        rbf_width=None,
        cosine_cutoff=True,
        filter_activation=True,
        output_activation="ssp",
    ):
        super().__init__(n_features, n_rbf, cutoff, max_z)
        _check_interactions(n_interactions)
        if output_activation not in self.OUTPUT_ACTIVATIONS:
            raise ValueError(
                f"output_activation must be one of {sorted(self.OUTPUT_ACTIVATIONS)}, "
                f"got {output_activation!r}"
            )
        if rbf_width is not None:
            if not rbf_width > 0:
                raise ValueError(f"rbf_width must be positive, got {rbf_width}")
            self.rbf_gamma.fill_(0.5 / rbf_width**2)
        self.variant = dict(
            rbf_width=rbf_width,
            cosine_cutoff=bool(cosine_cutoff),
            filter_activation=bool(filter_activation),
            output_activation=output_activation,
        )
        self.interactions = nn.ModuleList(
            SchNetInteraction(n_features, n_rbf, filter_activation) for _ in range(n_interactions)
        )
        self.register_buffer("filter_tables", None, persistent=False)  # (T, 2N, F) when tabulated

    def tabulate_filters(self, spacing: float = 0.01) -> float:
        """Use interpolation tables instead of the filter networks (in eval mode), for speed.

        Knots every ``spacing`` Å, computed in float64 from the current weights. ``train()``
        drops the tables (they would go stale). Returns the largest interpolation error of any
        filter component, measured at the interval midpoints (where Hermite errors peak),
        relative to the largest filter value.
        """
        exact = copy.deepcopy(self).to(torch.float64)

        def filter_fn(t):
            return lambda d: exact.interactions[t].filter(*exact.expand(d))

        tables = [
            hermite_table(filter_fn(t), self.cutoff, spacing, self.device)
            for t in range(len(self.interactions))
        ]
        n_knots = len(tables[0]) // 2
        mid = (torch.arange(n_knots - 1, dtype=torch.float64, device=self.device) + 0.5) * (
            self.cutoff / (n_knots - 1)
        )
        error = 0.0
        with torch.no_grad():
            for t, table in enumerate(tables):
                W = filter_fn(t)(mid)
                error = max(
                    error,
                    (
                        (hermite_interpolate(mid, table, self.cutoff) - W).abs().max()
                        / W.abs().max()
                    ).item(),
                )
        self.filter_tables = torch.stack(tables).to(self.dtype)
        return error

    def train(self, mode: bool = True):
        if mode:
            self.filter_tables = None
        return super().train(mode)

    def variant_options(self) -> dict:
        """The implementation choices that differ from the defaults (saved with the model)."""
        return {k: v for k, v in self.variant.items() if v != self.VARIANT_DEFAULTS[k]}

    def output_activation(self, x):
        return self.OUTPUT_ACTIVATIONS[self.variant["output_activation"]](x)

    def expand(self, d):
        rbf, fcut = super().expand(d)
        if not self.variant["cosine_cutoff"]:
            fcut = (d < self.cutoff).to(d.dtype)  # hard cut: filters end abruptly at r_c
        return rbf, fcut

    def to_reference(self) -> dict:
        pytorch_only = {k: v for k, v in self.variant_options().items() if k != "rbf_width"}
        if pytorch_only:
            raise ValueError(
                f"the reference implements the thesis's SchNet; "
                f"{pytorch_only} exists in PyTorch only"
            )
        return super().to_reference()

    def pair_inputs(self, d):
        if self.filter_tables is not None and not self.training:
            return [hermite_interpolate(d, table, self.cutoff) for table in self.filter_tables]
        return super().pair_inputs(d)  # (P, F) filters, one per block
