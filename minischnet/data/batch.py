"""A batch: many structures as flat arrays, the form both PyTorch models read.

    Z          (n_atoms,)      element numbers
    R          (n_atoms, 3)    positions, Å
    structure  (n_atoms,)      which structure each atom belongs to
    idx_i/j    (n_pairs,)      one direction of every pair within the cutoff
                               (see neighbors.half_pairs)
    offsets    (n_pairs, 3)    shift @ cell, so that r_ij = R[j] - R[i] + offset
    energy     (n_structures,) reference energies, eV (when known)
    forces     (n_atoms, 3)    reference forces, eV/Å (when known)

Pair lists are built once by ``collate`` and reused: a fixed dataset pays for them once.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np
import torch

from ..neighbors import check_structure, half_pairs, neighbor_pairs

__all__ = ["Batch", "collate", "structure_pairs"]


@dataclass
class Batch:
    Z: torch.Tensor
    R: torch.Tensor
    structure: torch.Tensor
    idx_i: torch.Tensor
    idx_j: torch.Tensor
    offsets: torch.Tensor
    n_atoms: torch.Tensor  # (n_structures,)
    cutoff: float
    energy: torch.Tensor | None = None
    forces: torch.Tensor | None = None

    @property
    def n_structures(self) -> int:
        return len(self.n_atoms)

    def to(self, device=None, dtype=None) -> "Batch":
        """Move to a device; floating-point tensors also to ``dtype``. Returns self if nothing
        changes."""
        changes = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, torch.Tensor):
                new = v.to(device=device, dtype=dtype if v.is_floating_point() else None)
                if new is not v:
                    changes[f.name] = new
        return replace(self, **changes) if changes else self


def structure_pairs(Z, R, cutoff, cell=None, pbc=None):
    """Check one structure and return (Z, R, idx_i, idx_j, offsets) with one direction per pair."""
    Z, R, cell, pbc = check_structure(Z, R, cell, pbc)
    idx_i, idx_j, S = neighbor_pairs(R, cutoff, cell, pbc)
    keep = half_pairs(idx_i, idx_j, S)
    return Z, R, idx_i[keep], idx_j[keep], S[keep] @ cell


def _reference_values(atoms):
    """Energy and forces attached to an ase.Atoms (by a SinglePointCalculator or a finished
    calculation)."""
    results = atoms.calc.results if atoms.calc is not None else {}
    energy = results.get("energy")
    forces = results.get("forces")
    if forces is not None:
        forces = np.asarray(forces, dtype=np.float64)
        if forces.shape != (len(atoms), 3):
            raise ValueError(f"forces have shape {forces.shape}, expected ({len(atoms)}, 3)")
    return energy, forces


def collate(structures, cutoff) -> Batch:
    """Collate ase.Atoms (or (Z, R) / (Z, R, cell, pbc) tuples) into one float64 Batch on the CPU.

    Energies and forces are taken from each Atoms' calculator results when every structure has them.
    """
    Zs, Rs, ii, jj, offs, energies, forces = [], [], [], [], [], [], []
    start = 0
    for s in structures:
        if hasattr(s, "get_atomic_numbers"):  # ase.Atoms
            Z, R, cell, pbc = s.numbers, s.positions, s.cell.array, s.pbc
            e, f = _reference_values(s)
        else:
            Z, R, *periodic = s
            cell, pbc = periodic if periodic else (None, None)
            e = f = None
        Z, R, i, j, o = structure_pairs(Z, R, cutoff, cell, pbc)
        Zs.append(Z)
        Rs.append(R)
        offs.append(o)
        ii.append(i + start)
        jj.append(j + start)
        energies.append(e)
        forces.append(f)
        start += len(Z)
    if not Zs:
        raise ValueError("collate needs at least one structure")
    n_atoms = np.array([len(z) for z in Zs])

    def as_long(a):
        return torch.as_tensor(np.concatenate(a), dtype=torch.long)

    return Batch(
        Z=as_long(Zs),
        R=torch.as_tensor(np.concatenate(Rs)),
        structure=torch.repeat_interleave(torch.arange(len(Zs)), torch.as_tensor(n_atoms)),
        idx_i=as_long(ii),
        idx_j=as_long(jj),
        offsets=torch.as_tensor(np.concatenate(offs)),
        n_atoms=torch.as_tensor(n_atoms),
        cutoff=float(cutoff),
        energy=None
        if any(e is None for e in energies)
        else torch.tensor(energies, dtype=torch.float64),
        forces=None if any(f is None for f in forces) else torch.as_tensor(np.concatenate(forces)),
    )
