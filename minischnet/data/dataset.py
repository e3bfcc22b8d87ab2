"""A data set of atomistic structures, stored as flat arrays; items are ase.Atoms.

    ds = AtomsDataset.read("my_dft.extxyz")      # any file ASE reads, with energies (and forces)
    len(ds), ds[0].get_potential_energy()        # eV
    batch = ds.batch([0, 5, 7], cutoff=5.0)      # pair lists computed once per structure, cached
    ds.write("copy.extxyz")

Arrays (bulk access for training): Z (n_total,), R (n_total, 3), start (n+1,) so that structure k
is rows start[k]:start[k+1]; energy (n,) eV; forces (n_total, 3) eV/Å or None; cell (n, 3, 3),
pbc (n, 3); info: dict of per-structure arrays (other properties, indices, SMILES, ...).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from .._progress import progress
from .batch import Batch, structure_pairs


def _ranges(starts, counts):
    """np.concatenate([np.arange(s, s + c) for s, c in zip(starts, counts)]), without the loop."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    return np.repeat(
        np.asarray(starts, dtype=np.int64) - (np.cumsum(counts) - counts), counts
    ) + np.arange(total)


class AtomsDataset:
    def __init__(
        self, Z, R, start, energy=None, forces=None, cell=None, pbc=None, info=None, name="dataset"
    ):
        self.Z = np.asarray(Z, dtype=np.int64)
        self.R = np.asarray(R, dtype=np.float64)
        self.start = np.asarray(start, dtype=np.int64)
        n = len(self.start) - 1
        if self.start[0] != 0 or self.start[-1] != len(self.Z) or np.any(np.diff(self.start) <= 0):
            raise ValueError(
                "start must rise from 0 to the number of atoms, every structure non-empty"
            )
        if self.R.shape != (len(self.Z), 3):
            raise ValueError(f"R has shape {self.R.shape}, expected ({len(self.Z)}, 3)")
        self.energy = None if energy is None else np.asarray(energy, dtype=np.float64)
        if self.energy is not None and self.energy.shape != (n,):
            raise ValueError(f"energy has shape {self.energy.shape}, expected ({n},)")
        self.forces = None if forces is None else np.asarray(forces, dtype=np.float64)
        if self.forces is not None and self.forces.shape != self.R.shape:
            raise ValueError(
                f"forces have shape {self.forces.shape}, expected {self.R.shape} (one row per atom)"
            )
        self._check_finite()
        self.cell = np.zeros((n, 3, 3)) if cell is None else np.asarray(cell, dtype=np.float64)
        self.pbc = np.zeros((n, 3), dtype=bool) if pbc is None else np.asarray(pbc, dtype=bool)
        self.info = {k: np.asarray(v) for k, v in (info or {}).items()}
        self.name = name
        self._pairs = {}  # cutoff -> list of (idx_i, idx_j, offsets) per structure

    # -- basic access ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.start) - 1

    def __repr__(self) -> str:
        has = (
            "energies" + (" and forces" if self.forces is not None else "")
            if self.energy is not None
            else "no labels"
        )
        return f"<{self.name}: {len(self)} structures, {len(self.Z)} atoms, {has}>"

    def atoms_slice(self, k: int) -> slice:
        return slice(self.start[k], self.start[k + 1])

    def __getitem__(self, k) -> Atoms:
        if isinstance(k, slice) or (hasattr(k, "__len__") and not isinstance(k, str)):
            return self.subset(np.arange(len(self))[k])
        k = int(k)
        if not -len(self) <= k < len(self):
            raise IndexError(f"structure {k} out of range for {len(self)} structures")
        k %= len(self)
        s = self.atoms_slice(k)
        atoms = Atoms(numbers=self.Z[s], positions=self.R[s], cell=self.cell[k], pbc=self.pbc[k])
        atoms.info.update(
            {key: v[k].item() if v[k].ndim == 0 else v[k] for key, v in self.info.items()}
        )
        if self.energy is not None:
            forces = None if self.forces is None else self.forces[s].copy()
            atoms.calc = SinglePointCalculator(atoms, energy=float(self.energy[k]), forces=forces)
        return atoms

    def subset(self, indices) -> "AtomsDataset":
        """The structures at ``indices`` (negative ones count from the end), as a new data set."""
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        outside = indices[(indices < -len(self)) | (indices >= len(self))]
        if len(outside):
            raise IndexError(f"structure {outside[0]} out of range for {len(self)} structures")
        indices = indices % max(len(self), 1)
        counts = self.start[indices + 1] - self.start[indices]
        rows = _ranges(self.start[indices], counts)
        return AtomsDataset(
            self.Z[rows],
            self.R[rows],
            np.concatenate([[0], np.cumsum(counts)]),
            None if self.energy is None else self.energy[indices],
            None if self.forces is None else self.forces[rows],
            self.cell[indices],
            self.pbc[indices],
            {k: v[indices] for k, v in self.info.items()},
            self.name,
        )

    # -- batching ------------------------------------------------------------------------------
    def pairs(self, cutoff: float) -> dict:
        """Pair lists (one direction per pair) of every structure, computed once per cutoff.

        Stored flat: structure k's pairs are rows start[k]:start[k+1] of i, j (int32, atom numbers
        within the structure) and offsets (float64, only when some structure is periodic).
        """
        if cutoff not in self._pairs:
            periodic = bool(self.pbc.any())
            ii, jj, offs, counts = [], [], [], []
            for k in progress(
                range(len(self)),
                quiet=len(self) < 5000,
                desc=f"pair lists ({self.name}, {cutoff} Å)",
            ):
                s = self.atoms_slice(k)
                _, _, i, j, o = structure_pairs(
                    self.Z[s], self.R[s], cutoff, self.cell[k], self.pbc[k]
                )
                ii.append(i.astype(np.int32))
                jj.append(j.astype(np.int32))
                counts.append(len(i))
                if periodic:
                    offs.append(o)
            self._pairs[cutoff] = dict(
                start=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
                i=np.concatenate(ii),
                j=np.concatenate(jj),
                offsets=np.concatenate(offs) if periodic else None,
            )
        return self._pairs[cutoff]

    def batch(self, indices, cutoff: float) -> Batch:
        """The structures ``indices`` as one float64 Batch, from cached pair lists."""
        indices = np.asarray(indices, dtype=np.int64)
        pairs = self.pairs(cutoff)
        counts = self.start[indices + 1] - self.start[indices]
        rows = _ranges(self.start[indices], counts)
        n_pairs = pairs["start"][indices + 1] - pairs["start"][indices]
        pair_rows = _ranges(pairs["start"][indices], n_pairs)
        first_atom = np.repeat(
            np.cumsum(counts) - counts, n_pairs
        )  # where each structure starts in the batch
        offsets = (
            pairs["offsets"][pair_rows]
            if pairs["offsets"] is not None
            else np.zeros((len(pair_rows), 3))
        )
        return Batch(
            Z=torch.as_tensor(self.Z[rows]),
            R=torch.as_tensor(self.R[rows]),
            structure=torch.repeat_interleave(torch.arange(len(indices)), torch.as_tensor(counts)),
            idx_i=torch.as_tensor(pairs["i"][pair_rows] + first_atom, dtype=torch.long),
            idx_j=torch.as_tensor(pairs["j"][pair_rows] + first_atom, dtype=torch.long),
            offsets=torch.as_tensor(offsets),
            n_atoms=torch.as_tensor(counts),
            cutoff=float(cutoff),
            energy=None if self.energy is None else torch.as_tensor(self.energy[indices]),
            forces=None if self.forces is None else torch.as_tensor(self.forces[rows]),
        )

    def _check_finite(self) -> None:
        """ValueError naming the first structure with a NaN or infinite position, energy or force:
        one such label would turn every loss after it into NaN."""
        if self.energy is not None and not np.all(np.isfinite(self.energy)):
            k = int(np.flatnonzero(~np.isfinite(self.energy))[0])
            raise ValueError(f"structure {k}: its energy is {self.energy[k]}, not a finite number")
        for name, array in (("positions", self.R), ("forces", self.forces)):
            if array is not None and not np.all(np.isfinite(array)):
                atom = int(np.flatnonzero(~np.all(np.isfinite(array), axis=1))[0])
                k = int(np.searchsorted(self.start, atom, side="right") - 1)
                raise ValueError(
                    f"structure {k}: its {name} hold NaN or infinite numbers "
                    f"(atom {atom - self.start[k]})"
                )

    # -- files ---------------------------------------------------------------------------------
    @classmethod
    def from_atoms(cls, structures, require_energy=False, name="dataset") -> "AtomsDataset":
        """From ase.Atoms with energies/forces attached (calculator results), as ASE files give
        them."""
        structures = list(structures)
        if not structures:
            raise ValueError("no structures")
        energies, forces = [], []
        for k, a in enumerate(structures):
            results = a.calc.results if a.calc is not None else {}
            energies.append(results.get("energy", results.get("free_energy")))
            f = results.get("forces")
            if f is not None and np.shape(f) != (len(a), 3):
                raise ValueError(
                    f"structure {k}: forces have shape {np.shape(f)}, expected ({len(a)}, 3)"
                )
            forces.append(f)
        have_e = [e is not None for e in energies]
        if require_energy and not all(have_e):
            raise ValueError(
                f"structure {have_e.index(False)} has no energy, and training needs energies"
            )
        if any(have_e) and not all(have_e):
            raise ValueError(
                f"structure {have_e.index(False)} has no energy while others have: mixed labels"
            )
        have_f = [f is not None for f in forces]
        if any(have_f) and not all(have_f):
            raise ValueError(
                f"structure {have_f.index(False)} has no forces while others have: mixed labels"
            )
        counts = [len(a) for a in structures]
        return cls(
            Z=np.concatenate([a.numbers for a in structures]),
            R=np.concatenate([a.positions for a in structures]),
            start=np.concatenate([[0], np.cumsum(counts)]),
            energy=np.array(energies, dtype=float) if all(have_e) else None,
            forces=np.concatenate(forces) if all(have_f) else None,
            cell=np.array([a.cell.array for a in structures]),
            pbc=np.array([a.pbc for a in structures]),
            name=name,
        )

    @classmethod
    def read(cls, path, index=":", require_energy=False, **kwargs) -> "AtomsDataset":
        """Any file ASE reads (extxyz, ASE db, VASP OUTCAR, ...): ``ase.io.read(path, index)``.

        A file that cannot be read gives a ValueError (FileNotFoundError if it is missing) that
        names the file, the frame (counting from 0) and what is wrong: empty, binary, of an
        unknown format, truncated, atom counts that do not match, missing energies.
        """
        import ase.io

        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no file at {path}")
        if path.is_dir():
            raise ValueError(f"{path} is a folder, not a file of structures")
        if path.stat().st_size == 0:
            raise ValueError(f"{path} is empty: no structures in it")
        try:
            structures = ase.io.read(path, index=index, **kwargs)
        except Exception as e:  # ASE's readers raise many kinds, most without the file's name
            raise ValueError(_read_error(path, e, kwargs)) from None
        if isinstance(structures, Atoms):
            structures = [structures]
        if not structures:
            raise ValueError(f"{path}: no structures in it (index {index!r})")
        try:
            return cls.from_atoms(structures, require_energy=require_energy, name=path.name)
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None

    def write(self, path, **kwargs) -> None:
        """Write every structure with its energy and forces: ``ase.io.write(path, ...)``."""
        import ase.io

        ase.io.write(path, [self[k] for k in range(len(self))], **kwargs)


def _read_error(path: Path, error: Exception, kwargs: dict) -> str:
    """What went wrong reading ``path``, in words, with the frame where it went wrong."""
    import ase.io
    from ase.io.formats import UnknownFileTypeError

    if isinstance(error, UnknownFileTypeError):
        return (
            f"{path}: ASE cannot tell what format this file is ({error}); give it the suffix "
            "of its format (.extxyz, .db, .traj, ...) or pass format=..."
        )
    if isinstance(error, UnicodeDecodeError):
        return (
            f"{path} is not a text file (byte {error.start} is not UTF-8): a binary or "
            "compressed file under a text format's name?"
        )
    if isinstance(error, KeyError):  # ASE raises KeyError for unknown element symbols
        return f"{path}: unknown element symbol {error}"
    frame = 0  # find the frame that fails by reading the file frame by frame
    try:
        for _ in ase.io.iread(path, **kwargs):
            frame += 1
    except Exception:
        pass
    message = f"{type(error).__name__}: {error}"
    if "StopIteration" in str(error) or isinstance(error, StopIteration):
        message = "the file ends inside this frame (truncated?)"
    return f"{path}: frame {frame} (counting from 0) cannot be read: {message}"
