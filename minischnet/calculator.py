"""An ASE calculator around any minischnet model: energies and forces for any ase.Atoms."""

from __future__ import annotations

import numpy as np
import torch
from ase.calculators.calculator import Calculator as _ASECalculator
from ase.calculators.calculator import all_changes

from .data.batch import collate


class Calculator(_ASECalculator):
    """ASE calculator for a minischnet model (SchNet, DTNN, ...).

    Computes in the model's dtype and on the model's device; a float64 model gives float64-exact
    answers. Energies in eV, forces in eV/Å. ``calculate_batch`` evaluates many structures (for
    example all beads of a ring polymer) in one call.

        atoms.calc = minischnet.Calculator(model)
        atoms.get_potential_energy(), atoms.get_forces()
    """

    implemented_properties = ["energy", "free_energy", "forces"]

    def __init__(self, model, **kwargs):
        super().__init__(**kwargs)
        self.model = model.eval()

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        (energy,), (forces,) = self.calculate_batch([self.atoms])
        self.results = {"energy": energy, "free_energy": energy, "forces": forces}

    def calculate_batch(self, structures):
        """Energies (list of float, eV) and forces (list of (n, 3) arrays, eV/Å) of many structures."""
        batch = collate(structures, self.model.cutoff)
        E, F = self.model.energy_and_forces(batch)
        E = E.detach().to("cpu", torch.float64).numpy()
        F = F.detach().to("cpu", torch.float64).numpy()
        splits = np.cumsum(batch.n_atoms.numpy())[:-1]
        return [float(e) for e in E], np.split(F, splits)
