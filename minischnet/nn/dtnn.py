"""DTNN, the deep tensor neural network (Schütt et al., Nature Communications 8, 13890 (2017)).

The same function as ``minischnet.reference.dtnn_energy``. Each pair is stored once; the
distance factor (W^fd d̂_ij + b^f2) is computed once per pair, and W^fx x_j + b^f1 once per atom.
The loop of eq. (1) is ``AtomisticModel.refine``.
"""

from __future__ import annotations

import torch
from torch import nn

from .base import AtomisticModel, _check_interactions
from .layers import sum_over_neighbors


class DTNNInteraction(nn.Module):
    """Eq. (2), summed over j, times the cosine cutoff: v_i = sum_j f(d_ij) v_ij."""

    def __init__(self, n_features: int, n_rbf: int, n_factors: int):
        super().__init__()
        self.fx = nn.Linear(n_features, n_factors)  # W^fx, b^f1
        self.fd = nn.Linear(n_rbf, n_factors)  # W^fd, b^f2
        self.xf = nn.Linear(n_factors, n_features, bias=False)  # W^xf

    def pair_input(self, rbf, fcut):
        """The distance factor W^fd d̂_ij + b^f2 (P, Ff) and the cutoff f(d_ij) (P,)."""
        return self.fd(rbf), fcut

    def forward(self, x, pair_input, idx_i, idx_j):
        """v of eq. (1): x (n, F) -> (n, F), messages both ways along every stored pair."""
        d_factor, fcut = pair_input  # (P, Ff), (P,)
        x_factor = self.fx(x)  # (n, Ff): W^fx x_j + b^f1, once per atom

        def v(sender):  # eq. (2) for the message from atom sender[p], times f(d): (P, F)
            return torch.tanh(self.xf(x_factor.index_select(0, sender) * d_factor)) * fcut[:, None]

        y = sum_over_neighbors(v(idx_j), idx_i, len(x))  # (n, F): j -> i
        return y.index_add_(0, idx_j, v(idx_i))  # (n, F): and i -> j


class DTNN(AtomisticModel):
    """DTNN: E = sum_i NN_E(x_i^(T)) with factorized tensor interactions (eqs. 1, 2, 3)."""

    kind = "dtnn"

    def __init__(
        self, n_features=64, n_interactions=3, n_rbf=25, cutoff=5.0, max_z=100, n_factors=None
    ):
        super().__init__(n_features, n_rbf, cutoff, max_z)
        _check_interactions(n_interactions)
        self.n_factors = n_factors or n_features
        self.interactions = nn.ModuleList(
            DTNNInteraction(n_features, n_rbf, self.n_factors) for _ in range(n_interactions)
        )

    @classmethod
    def hyperparameters(cls, params):
        factors = params.get("interaction0.fx.W")
        return dict(
            super().hyperparameters(params), n_factors=None if factors is None else factors.shape[1]
        )

    def output_activation(self, x):
        return torch.tanh(x)
