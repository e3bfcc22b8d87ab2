"""Bad input gets a ValueError that names the problem, never a silent wrong number."""

import numpy as np
import pytest
from ase import Atoms

import minischnet
from conftest import CUTOFF, MODELS, small_params, torch_model
from minischnet import reference

GOOD_Z = np.array([6, 1, 8])
GOOD_R = np.array([[0.0, 0.0, 0.0], [1.1, 0.0, 0.0], [0.0, 1.2, 0.0]])


def both(model_kind, Z, R, cell=None, pbc=None):
    """Yield the reference's and the torch model's evaluation as callables."""
    params = small_params(model_kind)
    _, energy, _ = MODELS[model_kind]
    model = torch_model(model_kind, params)
    return [
        lambda: energy(params, Z, R, cell, pbc),
        lambda: model.energy_and_forces(minischnet.collate([(Z, R, cell, pbc)], CUTOFF)),
    ]


@pytest.mark.parametrize(
    "Z, R, match",
    [
        (np.array([6, 1, 0]), GOOD_R, "element number"),
        (np.array([6, 1, -3]), GOOD_R, "element number"),
        (np.array([6, 1, 21]), GOOD_R, "outside 1..20"),
        (np.array([6, 1.5, 8]), GOOD_R, "integers"),
        (GOOD_Z, np.where(np.eye(3, dtype=bool), np.nan, GOOD_R), "NaN or infinite"),
        (GOOD_Z, np.where(np.eye(3, dtype=bool), np.inf, GOOD_R), "NaN or infinite"),
        (GOOD_Z, GOOD_R[:2], "shape"),
        (GOOD_Z, GOOD_R[:, :2], "shape"),
        (GOOD_Z[None], GOOD_R, "1-d"),
        (np.array([], dtype=int), np.zeros((0, 3)), "empty"),
        (GOOD_Z, np.array([[0.0, 0, 0], [1.1, 0, 0], [1.1, 0, 0]]), "same position"),
    ],
)
def test_bad_structures(model_kind, Z, R, match):
    for evaluate in both(model_kind, Z, R):
        with pytest.raises(ValueError, match=match):
            evaluate()


@pytest.mark.parametrize(
    "cell, pbc",
    [
        ([[3.0, 0, 0], [0, 3.0, 0], [3.0, 3.0, 0]], True),  # three vectors in one plane
        ([[3.0, 0, 0], [6.0, 0, 0], [0, 0, 9.0]], [True, True, False]),  # a slab's two parallel
        ([[3.0, 0, 0], [0, 0, 0], [0, 0, 0]], [False, True, False]),  # periodic along a zero row
    ],
)
def test_periodic_directions_without_independent_vectors(model_kind, cell, pbc):
    for evaluate in both(model_kind, GOOD_Z, GOOD_R, np.array(cell), pbc):
        with pytest.raises(ValueError, match="not independent"):
            evaluate()


def test_atom_on_its_own_image(model_kind):
    """Two atoms at the same position modulo the cell coincide too."""
    cell = np.eye(3) * 3.0
    # on the cell's edge (wrapped onto the other atom), and just inside it (only its image is)
    for x in (3.0, 3.0 - 1e-9):
        R = np.array([[0.0, 0, 0], [x, 0, 0]])
        for evaluate in both(model_kind, np.array([1, 1]), R, cell, True):
            with pytest.raises(ValueError, match="same position"):
                evaluate()


def test_calculator_rejects_unknown_element():
    model = torch_model("schnet", small_params("schnet"))
    atoms = Atoms("CAu", positions=[[0, 0, 0], [1.5, 0, 0]])  # Au = 79 > max_z = 20
    atoms.calc = minischnet.Calculator(model)
    with pytest.raises(ValueError, match="79 is outside 1..20"):
        atoms.get_potential_energy()


def test_collate_rejects_wrong_force_shape():
    from ase.calculators.singlepoint import SinglePointCalculator

    atoms = Atoms("H2", positions=[[0, 0, 0], [0.74, 0, 0]])
    atoms.calc = SinglePointCalculator(atoms, energy=-1.0, forces=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="forces have shape"):
        minischnet.collate([atoms], CUTOFF)


def test_batch_with_smaller_cutoff_is_refused():
    model = torch_model("schnet", small_params("schnet"))
    with pytest.raises(ValueError, match="cutoff"):
        model.energy_and_forces(minischnet.collate([(GOOD_Z, GOOD_R)], CUTOFF / 2))


def test_invalid_hyperparameters():
    with pytest.raises(ValueError, match="n_rbf"):
        reference.init_schnet(8, 1, 1, 5.0)
    with pytest.raises(ValueError, match="n_rbf"):
        minischnet.SchNet(8, 1, 1, 5.0)
    with pytest.raises(ValueError, match="cutoff"):
        minischnet.collate([(GOOD_Z, GOOD_R)], 0.0)
