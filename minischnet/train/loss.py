"""Loss (6) for the PyTorch models; the twin of ``minischnet.reference.energy_force_loss``."""

from __future__ import annotations

import torch


def energy_force_loss(model, batch, rho: float) -> torch.Tensor:
    """Mean over structures of  rho (E - Ê)^2 + (1/n_atoms) sum_i ‖F_i - (-dÊ/dr_i)‖^2   (eq. 6).

    In training mode the forces keep their graph, so ``loss.backward()`` reaches the weights
    through the force term too.
    """
    if batch.energy is None or batch.forces is None:
        raise ValueError("loss (6) needs reference energies and forces in the batch")
    batch = batch.to(model.device, model.dtype)
    E, F = model.energy_and_forces(batch)
    energy_term = (batch.energy - E) ** 2  # (n_structures,)
    per_atom = ((batch.forces - F) ** 2).sum(dim=1)  # (n_atoms,)
    force_term = torch.zeros_like(E).index_add_(0, batch.structure, per_atom) / batch.n_atoms
    return (rho * energy_term + force_term).mean()
