"""The ASE calculator: float64-exact energies and forces in the model's dtype and device."""

import numpy as np
import pytest
import torch
from ase.build import bulk, molecule

import minischnet
from conftest import MODELS, small_params, torch_model


def test_molecule_float64_exact(model_kind):
    params = small_params(model_kind)
    atoms = molecule("CH3CH2OH")
    atoms.calc = minischnet.Calculator(torch_model(model_kind, params))
    _, energy, forces = MODELS[model_kind]
    assert atoms.get_potential_energy() == pytest.approx(energy(params, atoms.numbers, atoms.positions), rel=1e-12)
    np.testing.assert_allclose(atoms.get_forces(), forces(params, atoms.numbers, atoms.positions), rtol=0, atol=1e-12)
    assert isinstance(atoms.get_potential_energy(), float)
    # ASE re-computes after the positions change.
    E0 = atoms.get_potential_energy()
    atoms.positions[0] += 0.05
    assert atoms.get_potential_energy() != E0


def test_periodic_and_float32():
    params = small_params("schnet")
    atoms = bulk("Si", "diamond", a=5.43).repeat((2, 1, 1))
    atoms.rattle(0.05, seed=2)
    atoms.calc = minischnet.Calculator(torch_model("schnet", params, dtype=torch.float32))
    E32, F32 = atoms.get_potential_energy(), atoms.get_forces()
    assert F32.dtype == np.float64
    E_ref = MODELS["schnet"][1](params, atoms.numbers, atoms.positions, atoms.cell.array, atoms.pbc)
    F_ref = MODELS["schnet"][2](params, atoms.numbers, atoms.positions, atoms.cell.array, atoms.pbc)
    assert E32 == pytest.approx(E_ref, rel=1e-5)
    np.testing.assert_allclose(F32, F_ref, atol=1e-5 * np.abs(F_ref).max())


def test_batch_of_structures_matches_one_by_one():
    params = small_params("dtnn")
    calc = minischnet.Calculator(torch_model("dtnn", params))
    structures = [molecule("H2O"), molecule("C6H6"), molecule("NH3")]
    energies, forces = calc.calculate_batch(structures)
    for atoms, e, f in zip(structures, energies, forces):
        atoms.calc = minischnet.Calculator(torch_model("dtnn", params))
        assert e == pytest.approx(atoms.get_potential_energy(), rel=1e-13)
        np.testing.assert_allclose(f, atoms.get_forces(), atol=1e-13)


def test_md_with_the_calculator_conserves_energy():
    """A real ASE integrator driven by the calculator: NVE total energy stays put."""
    from ase import units
    from ase.md.velocitydistribution import thermalize_momenta
    from ase.md.verlet import VelocityVerlet

    params = small_params("schnet")
    atoms = molecule("CH4")
    atoms.calc = minischnet.Calculator(torch_model("schnet", params))
    thermalize_momenta(atoms, temperature_K=300, rng=np.random.default_rng(0))
    e0, R0 = atoms.get_total_energy(), atoms.positions.copy()
    dyn = VelocityVerlet(atoms, timestep=0.1 * units.fs)
    dyn.run(200)
    assert abs(atoms.get_total_energy() - e0) < 1e-4
    assert np.abs(atoms.positions - R0).max() > 0.01  # it moved
