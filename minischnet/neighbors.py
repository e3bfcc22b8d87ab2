"""Pair lists for molecules and periodic cells.

A pair list holds every ordered pair (i, j) of atoms closer than the cutoff, plus for
periodic systems the integer cell shift S of the image of j:

    r_ij = R[j] - R[i] + S @ cell,      0 < |r_ij| < cutoff.

This is the convention of ``ase.neighborlist.neighbor_list("ijS", ...)``, against which the
tests check it. An atom may pair with its own periodic images (i == j, S != 0).

Two ways to the same list:

    brute_force_pairs   every atom pair and every cell shift that can reach within the cutoff:
                        the readable definition, O(n^2); the NumPy reference uses it
    neighbor_pairs      cell lists from vesin (a C++ library made for this), O(n): what the
                        PyTorch side uses, from small molecules to 100,000-atom boxes

The tests prove the two equal as sets, and both equal to ase.neighborlist. Both model
implementations sum over j with these lists (eq. 1); the PyTorch models keep only one of the two
directions of each pair (``half_pairs``) because the filter depends on d_ij only.
"""

from __future__ import annotations

import numpy as np
import vesin

__all__ = ["check_structure", "complete_cell", "neighbor_pairs", "brute_force_pairs", "half_pairs"]

#: Two atoms closer than this (Å) are "at the same position": distances and their gradients
#: are undefined there, so we refuse them rather than return NaN forces.
MIN_DISTANCE = 1e-6
#: pair lists beyond this many pairs (about 5 GB with their shifts) are refused, not attempted
MAX_PAIRS = 1e8

#: Below this many atoms a molecule's pairs come from brute force, which is faster there than
#: setting up cell lists (measured: 60 against 72 µs at 18 atoms, 97 against 94 µs at 29): QM9's
#: batches of small molecules do not get slower.
SMALL_MOLECULE = 30


def check_structure(Z, R, cell=None, pbc=None):
    """Validate one structure and return it as (Z int64 (n,), R float64 (n, 3), cell (3, 3),
    pbc (3,)).

    Raises ValueError, naming the problem, for: an empty structure, Z or R of the wrong shape,
    non-integer or non-positive element numbers, NaN/inf coordinates, a cell that is not 3x3,
    and periodic directions whose lattice vectors are not independent.

    Boundary conditions are ASE's: only the periodic directions need lattice vectors. A nanotube
    (pbc along z alone) may have zero rows for x and y, a slab (pbc along x and y) a zero or any
    third row; those rows are never used.
    """
    Z = np.asarray(Z)
    R = np.asarray(R, dtype=np.float64)
    if Z.ndim != 1:
        raise ValueError(f"Z must be a 1-d array of element numbers, got shape {Z.shape}")
    if len(Z) == 0:
        raise ValueError("empty structure: Z has no atoms")
    if R.shape != (len(Z), 3):
        raise ValueError(
            f"R must have shape (n_atoms, 3) = ({len(Z)}, 3) to match Z, got {R.shape}"
        )
    if not np.issubdtype(Z.dtype, np.integer):
        if not np.all(np.isfinite(Z)) or np.any(Z != np.round(Z)):
            raise ValueError(f"element numbers must be integers, got {Z}")
    Z = Z.astype(np.int64)
    if Z.min() < 1:
        raise ValueError(f"element numbers must be >= 1, got {Z.min()}")
    if not np.all(np.isfinite(R)):
        bad = np.unique(np.nonzero(~np.isfinite(R))[0])
        raise ValueError(f"coordinates of atoms {bad.tolist()} are NaN or infinite")

    pbc = (
        np.zeros(3, dtype=bool)
        if pbc is None
        else np.broadcast_to(np.asarray(pbc, dtype=bool), (3,)).copy()
    )
    cell = np.zeros((3, 3)) if cell is None else np.asarray(cell, dtype=np.float64)
    if cell.shape != (3, 3):
        raise ValueError(
            f"cell must be a 3x3 matrix (rows are lattice vectors), got shape {cell.shape}"
        )
    if not np.all(np.isfinite(cell)):
        raise ValueError("cell contains NaN or infinite entries")
    if pbc.any():
        periodic = cell[pbc]  # (m, 3): the lattice vectors that are used
        lengths = np.linalg.norm(periodic, axis=1)
        singular_values = np.linalg.svd(periodic, compute_uv=False)
        if lengths.min() == 0 or singular_values[-1] < 1e-10 * lengths.max():
            axes = np.nonzero(pbc)[0].tolist()
            raise ValueError(
                f"the lattice vectors of the periodic directions {axes} (pbc={pbc.tolist()}) "
                f"are not independent: {periodic.round(6).tolist()} Å; each periodic "
                "direction needs a lattice vector of its own"
            )
    return Z, R, cell, pbc


def complete_cell(cell, pbc):
    """``cell`` with the rows of its non-periodic directions replaced by unit vectors
    orthogonal to the periodic ones (and to each other): an invertible basis in which the
    periodic directions are unchanged. Non-periodic rows are never used to shift atoms, so
    any invertible completion gives the same pairs.
    """
    cell = np.array(cell, dtype=np.float64)
    pbc = np.asarray(pbc, dtype=bool)
    m = int(pbc.sum())
    if m == 3:
        return cell
    basis = np.linalg.svd(cell[pbc] if m else np.zeros((1, 3)))[2]  # rows m..2: the null space
    cell[~pbc] = basis[m:]
    return cell


def neighbor_pairs(R, cutoff, cell=None, pbc=None):
    """All ordered pairs closer than ``cutoff``: (idx_i, idx_j, shifts) with shapes (P,), (P,),
    (P, 3), sorted by i, then j.

    Cell lists (vesin): time and memory grow linearly with the number of atoms at fixed density.
    Raises ValueError if two atoms (or an atom and an image of another) coincide.
    """
    R = np.ascontiguousarray(R, dtype=np.float64)
    pbc = np.zeros(3, dtype=bool) if pbc is None else np.asarray(pbc, dtype=bool)
    if not cutoff > 0:
        raise ValueError(f"cutoff must be positive, got {cutoff}")
    if not pbc.any() and len(R) < SMALL_MOLECULE:
        return brute_force_pairs(R, cutoff)  # the same pairs, in the same order, but faster
    box = np.zeros((3, 3)) if cell is None else np.asarray(cell, dtype=np.float64)
    _refuse_too_many_pairs(R, cutoff, box, pbc)
    calculator = vesin.NeighborList(cutoff=float(cutoff), full_list=True)
    i, j, S, d = calculator.compute(R, box, pbc, quantities="ijSd")
    # the order vesin finds pairs in is its own: sort, so that sums over pairs are reproducible
    i, j = i.astype(np.int64), j.astype(np.int64)
    order = np.argsort(i * len(R) + j, kind="stable")  # one int64 key: twice as fast as lexsort
    idx_i, idx_j = i[order], j[order]
    S, d = S[order].astype(np.int64), d[order]
    # vesin counts d <= cutoff; the convention here (and ase's) is d < cutoff
    inside = d < cutoff
    idx_i, idx_j, S, d = idx_i[inside], idx_j[inside], S[inside], d[inside]
    _refuse_coincident(idx_i, idx_j, d)
    return idx_i, idx_j, S


def _refuse_too_many_pairs(R, cutoff, cell, pbc) -> None:
    """ValueError before a pair list that would not fit in memory is built: periodic images
    packed within the cutoff, e.g. a cell given in nm or Bohr where Å were meant.

    The estimate: n^2 times the cutoff sphere's volume over the volume the atoms fill, which is
    the periodic cell's volume, area or length times the atoms' extent (at least the sphere's
    diameter) along each non-periodic direction. It is about 1.5 times the true count or less.
    """
    if not pbc.any():
        return
    n, periodic = len(R), np.asarray(cell)[pbc]
    measure = np.sqrt(np.linalg.det(periodic @ periodic.T))  # volume, area or length
    for direction in complete_cell(cell, pbc)[~pbc]:  # unit vectors normal to the periodic ones
        measure *= max(np.ptp(R @ direction), 2 * cutoff)
    estimate = float(n) ** 2 * (4 / 3 * np.pi * cutoff**3) / measure
    if estimate > MAX_PAIRS:
        raise ValueError(
            f"about {estimate:.2g} pairs lie within the cutoff of {cutoff:g} Å: "
            f"{n} atom{'s' * (n != 1)} in {measure:.3g} Å^3 (periodic directions "
            f"{np.nonzero(pbc)[0].tolist()}); are the cell and the positions in Å?"
        )


def _refuse_coincident(idx_i, idx_j, d):
    if len(d) and d.min() < MIN_DISTANCE:
        p = int(np.argmin(d))
        raise ValueError(
            f"atoms {idx_i[p]} and {idx_j[p]} are at the same position (distance {d[p]:.2e} Å): "
            "distances and forces are undefined there"
        )


def brute_force_pairs(R, cutoff, cell=None, pbc=None):
    """The same pairs as ``neighbor_pairs``, by the definition: every atom pair and every cell
    shift that can reach within the cutoff. O(n^2) per shift, fine for molecules and small cells.
    """
    R = np.asarray(R, dtype=np.float64)
    n = len(R)
    pbc = np.zeros(3, dtype=bool) if pbc is None else np.asarray(pbc, dtype=bool)
    if not cutoff > 0:
        raise ValueError(f"cutoff must be positive, got {cutoff}")

    if pbc.any():
        cell = complete_cell(cell, pbc)  # a nanotube or slab: fill in the unused rows
        # Wrap into the cell, so that a small range of shifts suffices; undo it on the shifts.
        frac = np.linalg.solve(cell.T, R.T).T
        wrap = np.where(pbc, np.floor(frac), 0.0)
        R = R - wrap @ cell
        # Distance between lattice planes k: V / |a_l x a_m| = 1 / |row k of inv(cell).T|.
        spacing = 1.0 / np.linalg.norm(np.linalg.inv(cell).T, axis=1)
        reach = np.where(pbc, np.ceil(cutoff / spacing), 0).astype(np.int64)
        axes = [np.arange(-r, r + 1) for r in reach]
        shifts = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    else:
        wrap = np.zeros((n, 3))
        cell = np.zeros((3, 3))
        shifts = np.zeros((1, 3), dtype=np.int64)

    idx_i, idx_j, idx_s = [], [], []
    for s, shift in enumerate(shifts):
        rij = R[None, :, :] - R[:, None, :] + shift @ cell  # (n, n, 3)
        d2 = np.einsum("ijk,ijk->ij", rij, rij)
        close = d2 < cutoff**2
        if not shift.any():
            np.fill_diagonal(close, False)
        i, j = np.nonzero(close)
        idx_i.append(i)
        idx_j.append(j)
        idx_s.append(np.full(len(i), s))
    idx_i = np.concatenate(idx_i)
    idx_j = np.concatenate(idx_j)
    S = shifts[np.concatenate(idx_s)].astype(np.int64)

    _refuse_coincident(idx_i, idx_j, np.linalg.norm(R[idx_j] - R[idx_i] + S @ cell, axis=1))
    # Back to the caller's (unwrapped) positions: R_w = R - wrap @ cell.
    S = S + (wrap[idx_i] - wrap[idx_j]).astype(np.int64)
    return idx_i, idx_j, S


def half_pairs(idx_i, idx_j, shifts):
    """Keep one direction of every pair: (i, j, S) and (j, i, -S) are the same pair.

    Kept: i < j, or i == j with S lexicographically positive (an atom and its own image).
    Returns a boolean mask over the ordered pairs.
    """
    first_nonzero = np.take_along_axis(shifts, np.argmax(shifts != 0, axis=1)[:, None], axis=1)[
        :, 0
    ]
    return (idx_i < idx_j) | ((idx_i == idx_j) & (first_nonzero > 0))
