"""Property-based: random structures (cells, boundary conditions, elements, near-coincident
atoms) thrown at the pair lists, collate and the Calculator. Each either gives ase's pairs and
finite energies and forces, or raises a ValueError; nothing else, and never a silent NaN."""

import numpy as np
import pytest
from ase import Atoms
from ase.neighborlist import neighbor_list
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

import minischnet
from conftest import small_params, torch_model
from minischnet.neighbors import MIN_DISTANCE, check_structure, complete_cell, neighbor_pairs

CUTOFF = 3.0
MODEL = torch_model("schnet", small_params("schnet", cutoff=CUTOFF))  # max_z = 20


@st.composite
def structures(draw):
    n = draw(st.integers(1, 10))
    pbc = np.array(draw(st.lists(st.booleans(), min_size=3, max_size=3)))
    lengths = draw(st.lists(st.floats(1.5, 8.0), min_size=3, max_size=3))
    shear = draw(st.lists(st.floats(-0.5, 0.5), min_size=6, max_size=6))
    cell = np.diag(lengths)
    cell[np.triu_indices(3, 1)] = np.array(shear[:3]) * lengths[0]
    cell[np.tril_indices(3, -1)] = np.array(shear[3:]) * lengths[2]
    for axis in range(3):  # ASE allows zero rows in directions that are not periodic
        if not pbc[axis] and draw(st.booleans()):
            cell[axis] = 0.0
    if draw(st.integers(0, 9)) == 0:  # now and then two lattice vectors in one line
        cell[1] = cell[0] * draw(st.sampled_from([1.0, -2.0]))
    frac = np.array(draw(st.lists(st.floats(-0.3, 1.3), min_size=3 * n, max_size=3 * n)))
    R = frac.reshape(n, 3) @ np.diag(lengths)
    if n > 1 and draw(st.booleans()):  # an atom next to another: from on top of it to 0.1 Å
        gap = draw(st.sampled_from([0.0, 1e-9, 1e-7, 1e-5, 1e-3, 0.1]))
        R[1] = R[0] + gap * np.array([0.6, 0.0, 0.8])
    Z = np.array(draw(st.lists(st.integers(1, 20), min_size=n, max_size=n)))
    return Z, R, cell, pbc


def ase_pairs(Z, R, cell, pbc):
    # ase.neighborlist inverts the whole cell, so it fails where a non-periodic row is zero or
    # dependent; those rows never shift an atom, and any independent ones give the same pairs
    cell = complete_cell(cell, pbc)
    i, j, S, d = neighbor_list("ijSd", Atoms(Z, positions=R, cell=cell, pbc=pbc), CUTOFF)
    return {(a, b, *s) for a, b, s in zip(i.tolist(), j.tolist(), S.tolist())}, d


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(structures())
def test_pairs_collate_and_calculator_are_right_or_refuse(structure):
    Z, R, cell, pbc = structure
    periodic = cell[pbc]
    independent = not pbc.any() or (
        np.linalg.norm(periodic, axis=1).min() > 0
        and np.linalg.svd(periodic, compute_uv=False)[-1] > 1e-10 * np.abs(periodic).max()
    )
    event(f"periodic directions: {int(pbc.sum())}")
    if not independent:  # refused everywhere, by name
        event("refused: periodic lattice vectors not independent")
        with pytest.raises(ValueError, match="not independent"):
            check_structure(Z, R, cell, pbc)
        with pytest.raises(ValueError, match="not independent"):
            minischnet.collate([(Z, R, cell, pbc)], CUTOFF)
        return
    # a cell far smaller than the cutoff has so many images that ase takes long: keep it sane
    spacing = 1 / np.linalg.norm(np.linalg.inv(complete_cell(cell, pbc)), axis=0)
    assume(np.prod(np.where(pbc, CUTOFF / spacing + 1, 1)) < 200)
    expected, d = ase_pairs(Z, R, cell, pbc)
    coincident = len(d) and d.min() < MIN_DISTANCE
    atoms = Atoms(Z, positions=R, cell=cell, pbc=pbc)
    atoms.calc = minischnet.Calculator(MODEL)
    if coincident:
        event("refused: atoms at the same position")
        for call in (
            lambda: neighbor_pairs(R, CUTOFF, cell, pbc),
            lambda: MODEL.energy_and_forces(minischnet.collate([atoms], CUTOFF)),
            atoms.get_potential_energy,
        ):
            with pytest.raises(ValueError, match="same position"):
                call()
        return
    event("computed" + (" (no pairs)" if not expected else ""))
    i, j, S = neighbor_pairs(R, CUTOFF, cell, pbc)
    assert {(a, b, *s) for a, b, s in zip(i.tolist(), j.tolist(), S.tolist())} == expected
    assert len(i) == len(expected)
    E, F = MODEL.energy_and_forces(minischnet.collate([atoms], CUTOFF))
    assert np.isfinite(E.item()) and np.all(np.isfinite(F.numpy()))
    assert atoms.get_potential_energy() == pytest.approx(E.item(), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(atoms.get_forces(), F.numpy(), rtol=1e-10, atol=1e-12)
