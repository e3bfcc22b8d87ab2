"""Forces are -dE/dR (eq. 5): both implementations against central finite differences."""

import numpy as np
import pytest

import minischnet
from conftest import CUTOFF, MODELS, random_crystal, random_molecule, small_params, torch_model


def finite_difference_forces(energy, R, h=1e-5):
    F = np.zeros_like(R)
    for a in range(R.shape[0]):
        for k in range(3):
            Rp, Rm = R.copy(), R.copy()
            Rp[a, k] += h
            Rm[a, k] -= h
            F[a, k] = -(energy(Rp) - energy(Rm)) / (2 * h)
    return F


@pytest.mark.parametrize("implementation", ["reference", "torch"])
def test_forces_are_negative_gradient(model_kind, implementation, rng):
    params = small_params(model_kind)
    Z, R = random_molecule(8, rng)
    if implementation == "reference":
        _, energy_fn, forces_fn = MODELS[model_kind]

        def energy(R_):
            return energy_fn(params, Z, R_)

        F = forces_fn(params, Z, R)
    else:
        model = torch_model(model_kind, params)

        def energy(R_):
            return model.energy_and_forces(minischnet.collate([(Z, R_)], CUTOFF))[0].item()

        F = model.energy_and_forces(minischnet.collate([(Z, R)], CUTOFF))[1].numpy()
    F_fd = finite_difference_forces(energy, R)
    assert np.abs(F).max() > 1e-2
    np.testing.assert_allclose(F, F_fd, atol=1e-7 * np.abs(F).max())


def test_periodic_forces_are_negative_gradient(model_kind, rng):
    params = small_params(model_kind)
    atoms = random_crystal(rng)
    _, energy_fn, forces_fn = MODELS[model_kind]
    args = (atoms.cell.array, atoms.pbc)
    F = forces_fn(params, atoms.numbers, atoms.positions, *args)
    F_fd = finite_difference_forces(
        lambda R_: energy_fn(params, atoms.numbers, R_, *args), atoms.positions
    )
    np.testing.assert_allclose(F, F_fd, atol=1e-7 * np.abs(F).max())
