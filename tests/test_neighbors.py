"""The neighbour lists against ase.neighborlist and against each other, for molecules and periodic
cells: the cell lists (vesin) that the PyTorch side uses, and the brute-force definition that the
reference uses."""

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule
from ase.neighborlist import neighbor_list

from minischnet.neighbors import brute_force_pairs, check_structure, half_pairs, neighbor_pairs


def as_set(i, j, S):
    return {(int(a), int(b), *map(int, s)) for a, b, s in zip(i, j, S)}


def check_against_ase(atoms, cutoff):
    theirs = as_set(*neighbor_list("ijS", atoms, cutoff))
    for pairs in (neighbor_pairs, brute_force_pairs):
        i, j, S = pairs(atoms.positions, cutoff, atoms.cell.array, atoms.pbc)
        ours = as_set(i, j, S)
        assert ours == theirs, pairs.__name__
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


@pytest.mark.parametrize("seed", range(6))
def test_random_cells_cell_lists_equal_brute_force(seed):
    """New random triclinic cells, some smaller than the cutoff, atoms inside and outside the
    cell, each direction periodic or not: both lists equal ase's as sets."""
    rng = np.random.default_rng(100 + seed)
    cell = np.diag(rng.uniform(2.0, 7.0, 3)) + np.triu(rng.uniform(-1.5, 1.5, (3, 3)), 1)
    n = int(rng.integers(1, 25))
    atoms = Atoms("C" * n, scaled_positions=rng.uniform(-0.3, 1.3, (n, 3)), cell=cell, pbc=False)
    atoms.pbc = rng.uniform(size=3) < 0.7
    check_against_ase(atoms, float(rng.uniform(1.5, 6.0)))


def test_pairs_are_sorted_and_at_exactly_the_cutoff_left_out():
    """Sorted by (i, j), so that sums over pairs do not depend on how the library found them; a
    pair at exactly the cutoff is not a pair (d < cutoff, as in ase)."""
    R = np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 1.5, 0.0], [5.0, 5.0, 5.0]])
    i, j, _ = neighbor_pairs(R, 2.0)
    assert list(zip(i.tolist(), j.tolist())) == [(0, 2), (2, 0)]
    i, j, _ = neighbor_pairs(R[::-1], 2.6)
    assert np.all(np.diff(i * 10 + j) > 0)


def _nanotube():
    from ase.build import nanotube

    return nanotube(6, 0, length=2)  # pbc along z only; the x and y rows of its cell are zero


def _slab():
    from ase.build import fcc111

    return fcc111("Cu", (2, 2, 3), vacuum=None)  # pbc along x and y, third row zero


@pytest.mark.parametrize("build", [_nanotube, _slab])
def test_mixed_boundary_conditions_as_ase_defines_them(build):
    """Only the periodic directions need lattice vectors (ASE's convention): a nanotube and a
    slab whose unused cell rows are zero list ase's pairs, by both routes."""
    atoms = build()
    assert not atoms.pbc.all() and np.linalg.matrix_rank(atoms.cell.array) < 3
    check_structure(atoms.numbers, atoms.positions, atoms.cell.array, atoms.pbc)  # accepted
    assert check_against_ase(atoms, 5.0) > 100


@pytest.mark.parametrize(
    "cell, pbc, measure",
    [
        (np.eye(3) * 1e-3, True, r"in 1e-09 Å\^3"),  # a cell in µm read as Å, say
        # a slab: 1e-8 Å^2 times the sphere's diameter, 10 Å, across it
        ([[1e-4, 0, 0], [0, 1e-4, 0], [0, 0, 0]], [True, True, False], r"in 1e-07 Å\^3"),
    ],
)
def test_a_cell_far_too_small_is_refused_before_the_pairs_are_built(cell, pbc, measure):
    """Images packed within the cutoff would take hours and all the memory: the estimate (n^2
    images per sphere, disc or segment of the cell) refuses them at once, naming the cell."""
    with pytest.raises(ValueError, match=r"about .* pairs lie within the cutoff of 5 Å: 1 atom "):
        neighbor_pairs(
            np.zeros((1, 3)), 5.0, np.asarray(cell, dtype=float), np.broadcast_to(pbc, 3)
        )
    with pytest.raises(ValueError, match=measure):
        neighbor_pairs(
            np.zeros((1, 3)), 5.0, np.asarray(cell, dtype=float), np.broadcast_to(pbc, 3)
        )


def test_the_estimate_lets_a_nanowire_through():
    """A copper wire 130 Å across, periodic along its axis: 12,204 atoms and about 500,000
    pairs, counted by the atoms' extent across the wire, not as if all were within the cutoff."""
    copper = bulk("Cu", cubic=True).repeat((36, 36, 3))
    axis = copper.positions[:, :2].mean(axis=0)
    wire = copper[np.linalg.norm(copper.positions[:, :2] - axis, axis=1) < 65]
    i, _, _ = neighbor_pairs(wire.positions, 5.0, wire.cell.array, [False, False, True])
    assert len(wire) == 12204 and len(i) == 497700


def test_the_estimate_lets_large_crystals_through():
    """8,000 silicon atoms, 28 neighbours each within 5 Å (shells of 4, 12 and 12 at 2.35, 3.84
    and 4.50 Å): far below the limit, built as usual."""
    si = bulk("Si", cubic=True).repeat(10)
    i, _, _ = neighbor_pairs(si.positions, 5.0, si.cell.array, si.pbc)
    assert len(i) == 8000 * 28
