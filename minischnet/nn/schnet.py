"""SchNet (Schütt et al., NeurIPS 2017; J. Chem. Phys. 148, 241722 (2018)) in PyTorch.

The same function as ``minischnet.reference.schnet_energy``; read that one first.
Speed comes from two things the reference does not do:
  * each pair is stored once (i < j): the filter W(d_ij) depends on d_ij only, so it is
    computed once per pair and used for both directions j -> i and i -> j;
  * shifted softplus has a cheap second derivative (``layers.shifted_softplus``), which
    training on forces needs.
"""

from __future__ import annotations

import torch
from torch import nn

from .base import AtomisticModel
from .layers import shifted_softplus, sum_over_neighbors


class SchNetInteraction(nn.Module):
    """One interaction block: atom-wise -> cfconv (4) -> atom-wise, ssp -> atom-wise; returns v."""

    def __init__(self, n_features: int, n_rbf: int):
        super().__init__()
        F = n_features
        self.in2f = nn.Linear(F, F, bias=False)
        self.filter1 = nn.Linear(n_rbf, F)
        self.filter2 = nn.Linear(F, F)
        self.f2out = nn.Linear(F, F)
        self.dense = nn.Linear(F, F)

    def forward(self, x, rbf, fcut, src, dst):
        # x (n, F); rbf (P, K); fcut (P,); src, dst (2P,): both directions of the P pairs
        W = shifted_softplus(self.filter2(shifted_softplus(self.filter1(rbf)))) * fcut[:, None]  # W(d_ij), (P, F)
        h = self.in2f(x)  # (n, F)
        h_src = h.index_select(0, src).view(2, len(W), h.shape[1])  # (2, P, F): h_j for j -> i, h_i for i -> j
        y = sum_over_neighbors((h_src * W).view(len(src), h.shape[1]), dst, len(x))  # cfconv (4), (n, F)
        return self.dense(shifted_softplus(self.f2out(y)))  # v_i, (n, F)


class SchNet(AtomisticModel):
    """SchNet: E = sum_i NN_E(x_i^(T)) with continuous-filter convolutions (eqs. 1, 3, 4)."""

    kind = "schnet"

    def __init__(self, n_features=128, n_interactions=3, n_rbf=20, cutoff=5.0, max_z=100):
        super().__init__(n_features, n_rbf, cutoff, max_z)
        self.interactions = nn.ModuleList(SchNetInteraction(n_features, n_rbf) for _ in range(n_interactions))

    def output_activation(self, x):
        return shifted_softplus(x)

    def refine(self, x, rbf, fcut, idx_i, idx_j):
        src = torch.cat([idx_j, idx_i])  # message from j to i, and from i to j
        dst = torch.cat([idx_i, idx_j])
        for block in self.interactions:
            x = x + block(x, rbf, fcut, src, dst)  # eq. (1)
        return x
