"""Output scaling fitted on the training split only: atom references and per-atom mean/std.

E = sum_i (std * NN_E(x_i) + mean + atomref[Z_i])   (the read-out of eq. 3)

atomref: least squares of E against the element counts of each training structure
(E ≈ sum_Z n_Z a_Z), or given (e.g. free-atom energies, so the network learns atomization
energies), or none; mean and std: of the per-atom residual (E - sum_i atomref[Z_i]) / n_atoms.

The choice fixes nothing about the total energy, but it is the starting point from which training
splits E into atom-wise terms (eq. 3), so it changes what a local chemical potential (Fig. 4) shows.
"""

from __future__ import annotations

import numpy as np
import torch


def fit_output_scale(dataset, train_indices, max_z: int, atomref="fit"):
    """(atomref (max_z + 1,), mean, std) in eV from the structures ``train_indices`` alone.

    ``atomref``: "fit" (least squares on the training structures), "none", or an array (max_z + 1,)
    of given references in eV.
    """
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
    if isinstance(atomref, str):
        if atomref not in ("fit", "none"):
            raise ValueError(
                f"atomref must be 'fit', 'none' or an array of references, got {atomref!r}"
            )
        atomref = (
            np.linalg.lstsq(composition, sub.energy, rcond=None)[0]
            if atomref == "fit"
            else np.zeros(max_z + 1)
        )
    else:
        atomref = np.asarray(atomref, dtype=np.float64)
        if atomref.shape != (max_z + 1,):
            raise ValueError(
                f"atomref has shape {atomref.shape}, expected ({max_z + 1},): "
                f"one per element number 0..max_z"
            )
        missing = np.setdiff1d(np.unique(sub.Z), np.flatnonzero(atomref))
        if len(missing):
            raise ValueError(
                f"atomref has no (or a zero) reference for element numbers {missing.tolist()}"
            )
    residual_per_atom = (sub.energy - composition @ atomref) / counts
    std = float(residual_per_atom.std())
    return atomref, float(residual_per_atom.mean()), std if std > 1e-12 else 1.0


def apply_output_scale(model, atomref, mean, std) -> None:
    with torch.no_grad():
        model.atomref.copy_(torch.as_tensor(atomref, dtype=model.atomref.dtype))
        model.mean.fill_(mean)
        model.std.fill_(std)
