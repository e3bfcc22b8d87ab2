"""Looking inside a trained network (the thesis summary's section 3).

local_potential   Abb. 4: the energy a probe atom would contribute at points around a molecule
"""

from __future__ import annotations

import numpy as np
import torch
from ase.data import atomic_numbers

from .data.batch import collate


def local_potential(model, atoms, points, probe="H", batch_size: int = 512) -> np.ndarray:
    """Local chemical potential (eV) at each of ``points`` (n_points, 3), Å: Abb. 4.

    A probe atom (hydrogen by default, any element) is put at each point. It feels the molecule,
    but the molecule's atoms do not feel it (its messages are masked), so the molecule's own
    representation is untouched: the probe's atom-wise energy contribution (the term of eq. 3)
    is then a property of the molecule at that point.
    """
    z_probe = atomic_numbers[probe] if isinstance(probe, str) else int(probe)
    points = np.atleast_2d(np.asarray(points, dtype=np.float64))
    if points.shape[1:] != (3,):
        raise ValueError(f"points must have shape (n_points, 3), got {points.shape}")
    n = len(atoms)
    Z = np.append(atoms.numbers, z_probe)
    was_training = model.training
    model.eval()
    out = []
    for start in range(0, len(points), batch_size):
        chunk = points[start : start + batch_size]
        structures = [(Z, np.vstack([atoms.positions, p]), atoms.cell.array, atoms.pbc) for p in chunk]
        batch = collate(structures, model.cutoff)
        probe_index = torch.arange(1, len(chunk) + 1) * (n + 1) - 1  # the last atom of every structure
        unseen = torch.zeros(len(batch.Z), dtype=torch.bool)
        unseen[probe_index] = True
        batch.unseen = unseen
        batch = batch.to(model.device, model.dtype)
        model.check(batch)
        with torch.no_grad():
            out.append(model.atom_energies(batch)[probe_index.to(model.device)].double().cpu().numpy())
    model.train(was_training)
    return np.concatenate(out)
