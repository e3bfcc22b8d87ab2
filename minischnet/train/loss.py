"""Loss (6) for the PyTorch models; the twin of ``minischnet.reference.energy_force_loss``.

The trainer's training loss, its validation score and ``evaluate`` all call this one function.

Trained on energies alone (``rho = inf``), the energy term may also be the absolute error
``|E - Ê|`` instead of the square: the quantity the test MAE reports. The square weighs the rare
large errors most; the absolute error weighs every molecule alike, and a model trained on it
reaches a lower MAE, while its largest errors may grow (chapter 5). Loss (6) of the thesis is the
square.
"""

from __future__ import annotations

import math

import torch

#: the energy terms the loss knows: the thesis's square, and the absolute error (energies alone)
ENERGY_ERRORS = ("squared", "absolute")


def check_energy_error(energy_error: str, rho: float) -> None:
    """A clear error for an energy term the loss does not know, or ``|E - Ê|`` beside forces."""
    if energy_error not in ENERGY_ERRORS:
        raise ValueError(f"energy_error must be one of {ENERGY_ERRORS}, not {energy_error!r}")
    if energy_error == "absolute" and not math.isinf(rho):
        raise ValueError(
            f"the absolute energy error is for training on energies alone (rho = inf), not "
            f"beside the squared force term of loss (6) (rho = {rho})"
        )


def loss_per_structure(
    batch, E: torch.Tensor, F: torch.Tensor | None, rho: float, energy_error: str = "squared"
) -> torch.Tensor:
    """Eq. (6) for each structure: rho (E - Ê)^2 + (1/n_atoms) sum_i ‖F_i - F̂_i‖^2, (n_structures,).

    ``E`` (n_structures,) and ``F`` (n_atoms, 3) are the model's predictions Ê and F̂ = -dÊ/dr;
    the batch holds the reference values. ``rho = math.inf`` means energies alone: (E - Ê)^2,
    or ``|E - Ê|`` with ``energy_error="absolute"``, and ``F`` may then be None.
    """
    check_energy_error(energy_error, rho)
    if energy_error == "absolute":
        return (batch.energy - E).abs()  # (n_structures,)
    energy_term = (batch.energy - E) ** 2  # (n_structures,)
    if math.isinf(rho):
        return energy_term
    per_atom = ((batch.forces - F) ** 2).sum(dim=1)  # (n_atoms,)
    force_term = torch.zeros_like(E).index_add_(0, batch.structure, per_atom)  # (n_structures,)
    return rho * energy_term + force_term / batch.n_atoms.to(E.dtype)


def energy_force_loss(model, batch, rho: float, energy_error: str = "squared") -> torch.Tensor:
    """Loss (6), the mean over the structures of ``batch``: what training minimises.

    In training mode the forces keep their graph, so ``loss.backward()`` reaches the weights
    through the force term too. ``rho = math.inf`` trains on energies alone (no forces computed),
    on their squared or (``energy_error="absolute"``) absolute errors.
    """
    check_energy_error(energy_error, rho)  # before any forces are computed
    if batch.energy is None:
        raise ValueError("loss (6) needs reference energies in the batch")
    if not math.isinf(rho) and batch.forces is None:
        raise ValueError("loss (6) with a finite rho needs reference forces in the batch")
    batch = batch.to(model.device, model.dtype)
    if math.isinf(rho):
        return loss_per_structure(batch, model(batch), None, rho, energy_error).mean()
    E, F = model.energy_and_forces(batch)
    return loss_per_structure(batch, E, F, rho, energy_error).mean()
