"""The neighbour list against ase.neighborlist, for molecules and periodic cells."""

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule
from ase.neighborlist import neighbor_list

from minischnet.neighbors import half_pairs, neighbor_pairs


def as_set(i, j, S):
    return {(int(a), int(b), *map(int, s)) for a, b, s in zip(i, j, S)}


def check_against_ase(atoms, cutoff):
    i, j, S = neighbor_pairs(atoms.positions, cutoff, atoms.cell.array, atoms.pbc)
    ours = as_set(i, j, S)
    theirs = as_set(*neighbor_list("ijS", atoms, cutoff))
    assert ours == theirs
    assert len(ours) == len(i)  # no pair twice
    return len(ours)


def test_molecule():
    assert check_against_ase(molecule("C6H6"), 2.5) > 0
    assert check_against_ase(molecule("C6H6"), 100.0) == 12 * 11


@pytest.mark.parametrize("cutoff", [2.0, 5.0, 9.0])
def test_bulk_cells(cutoff):
    for atoms in (
        bulk("Cu", "fcc", a=3.6),
        bulk("NaCl", "rocksalt", a=5.6),
        bulk("Si", "diamond", a=5.43, cubic=True),
    ):
        check_against_ase(atoms, cutoff)


def test_triclinic_cell_with_atoms_outside():
    rng = np.random.default_rng(3)
    cell = np.array([[4.0, 0.0, 0.0], [1.7, 3.2, 0.0], [-0.9, 0.6, 2.8]])
    atoms = Atoms("H2O2", positions=rng.uniform(-6, 8, (4, 3)), cell=cell, pbc=True)
    assert check_against_ase(atoms, 5.5) > 100


def test_mixed_pbc_slab():
    atoms = bulk("Al", "fcc", a=4.05, cubic=True).repeat((2, 2, 2))
    atoms.pbc = [True, True, False]
    atoms.rattle(0.05, seed=1)
    check_against_ase(atoms, 4.5)


def test_half_pairs_keep_one_direction():
    atoms = bulk("Cu", "fcc", a=3.6)  # one atom: every pair is with an own image
    i, j, S = neighbor_pairs(atoms.positions, 5.0, atoms.cell.array, atoms.pbc)
    keep = half_pairs(i, j, S)
    assert keep.sum() * 2 == len(i)
    kept = as_set(i[keep], j[keep], S[keep])
    mirrored = as_set(j[keep], i[keep], -S[keep])
    assert kept.isdisjoint(mirrored) and kept | mirrored == as_set(i, j, S)


def test_a_cutoff_below_one_angstrom_is_valid():
    """Any positive cutoff is accepted and gives what brute force over all pairs gives."""
    R = np.array([[0.0, 0.0, 0.0], [0.5, 0.0, 0.0], [0.0, 0.8, 0.0]])
    i, j, _ = neighbor_pairs(R, 0.6)
    assert sorted(zip(i.tolist(), j.tolist())) == [(0, 1), (1, 0)]
    with pytest.raises(ValueError, match="cutoff must be positive"):
        neighbor_pairs(R, 0.0)
