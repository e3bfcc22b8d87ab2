"""An ASE calculator around any minischnet model: energies and forces for any ase.Atoms."""

from __future__ import annotations

from dataclasses import replace

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

    ``skin`` (Å, default 0: a fresh pair list every call) turns on a Verlet list for dynamics:
    pairs are listed up to cutoff + skin and reused until some atom has moved more than skin / 2
    since the list was built (until then no atom can have come within the cutoff unlisted), or
    the elements, cell or boundary conditions change. Listed pairs beyond the cutoff contribute
    exactly zero (every filter ends at the cutoff), so results are the same as without a skin.
    """

    implemented_properties = ["energy", "free_energy", "forces"]

    def __init__(self, model, skin: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        if skin < 0:
            raise ValueError(f"skin must be >= 0 Å, got {skin}")
        self.model = model.eval()
        self.skin = float(skin)
        self._pairs = None  # (identity of the structures, positions at the build, batch)
        self.pair_list_builds = 0

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        (energy,), (forces,) = self.calculate_batch([self.atoms])
        self.results = {"energy": energy, "free_energy": energy, "forces": forces}

    def calculate_batch(self, structures):
        """Energies (list of float, eV) and forces (list of (n, 3) arrays, eV/Å) of many
        structures."""
        batch = self._batch(structures)
        E, F = self.model.energy_and_forces(batch)
        E = E.detach().to("cpu", torch.float64).numpy()
        F = F.detach().to("cpu", torch.float64).numpy()
        splits = np.cumsum(batch.n_atoms.numpy())[:-1]
        return [float(e) for e in E], np.split(F, splits)

    def _batch(self, structures):
        if self.skin == 0:
            self.pair_list_builds += 1
            return collate(structures, self.model.cutoff)
        structures = list(structures)
        identity = [
            (a.numbers.tobytes(), a.cell.array.tobytes(), a.pbc.tobytes()) for a in structures
        ]
        R = np.concatenate([a.positions for a in structures])
        if self._pairs is not None and self._pairs[0] == identity:
            moved = np.sqrt(np.max(np.sum((R - self._pairs[1]) ** 2, axis=1)))
            if moved < self.skin / 2:
                return replace(self._pairs[2], R=torch.as_tensor(R))
        batch = collate(structures, self.model.cutoff + self.skin)
        self._pairs = (identity, R.copy(), batch)
        self.pair_list_builds += 1
        return batch
