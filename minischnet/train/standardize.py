"""Output scaling fitted on the training split only: atom references and per-atom mean/std.

E = sum_i (std * NN_E(x_i) + mean + atomref[Z_i])   (the read-out of eq. 3)

atomref: least squares of E against the element counts of each training structure
(E ≈ sum_Z n_Z a_Z); mean and std: of the per-atom residual (E - sum_i atomref[Z_i]) / n_atoms.
"""

from __future__ import annotations

import numpy as np
import torch


def fit_output_scale(dataset, train_indices, max_z: int, fit_atomref: bool = True):
    """(atomref (max_z + 1,), mean, std) in eV from the structures ``train_indices`` alone."""
    if dataset.energy is None:
        raise ValueError(f"{dataset.name} has no energies to fit the output scale to")
    train_indices = np.asarray(train_indices, dtype=np.int64)
    sub = dataset.subset(train_indices)
    counts = sub.start[1:] - sub.start[:-1]
    if sub.Z.max() > max_z:
        raise ValueError(f"element number {sub.Z.max()} is outside 1..{max_z} (max_z of the model)")
    structure = np.repeat(np.arange(len(sub)), counts)
    composition = np.zeros((len(sub), max_z + 1))
    np.add.at(composition, (structure, sub.Z), 1.0)
    atomref = np.zeros(max_z + 1)
    if fit_atomref:
        atomref = np.linalg.lstsq(composition, sub.energy, rcond=None)[0]
    residual_per_atom = (sub.energy - composition @ atomref) / counts
    std = float(residual_per_atom.std())
    return atomref, float(residual_per_atom.mean()), std if std > 1e-12 else 1.0


def apply_output_scale(model, atomref, mean, std) -> None:
    with torch.no_grad():
        model.atomref.copy_(torch.as_tensor(atomref, dtype=model.atomref.dtype))
        model.mean.fill_(mean)
        model.std.fill_(std)
