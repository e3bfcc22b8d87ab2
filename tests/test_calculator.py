"""The ASE calculator: float64-exact energies and forces in the model's dtype and device."""

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk, molecule

import minischnet
from conftest import MODELS, small_params, torch_model


def test_molecule_float64_exact(model_kind):
    params = small_params(model_kind)
    atoms = molecule("CH3CH2OH")
    atoms.calc = minischnet.Calculator(torch_model(model_kind, params))
    _, energy, forces = MODELS[model_kind]
    assert atoms.get_potential_energy() == pytest.approx(
        energy(params, atoms.numbers, atoms.positions), rel=1e-12
    )
    np.testing.assert_allclose(
        atoms.get_forces(), forces(params, atoms.numbers, atoms.positions), rtol=0, atol=1e-12
    )
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


@pytest.mark.parametrize("model_kind", MODELS)
def test_verlet_skin_gives_the_same_results(model_kind):
    """Atoms drifting across the cutoff: a skinned pair list gives what fresh lists give, and is
    rebuilt."""
    model = torch_model(model_kind, small_params(model_kind))  # float64, cutoff 4 Å
    rng = np.random.default_rng(5)
    atoms = molecule("CH3CH2OH")
    velocity = rng.normal(0, 0.05, atoms.positions.shape)  # Å per step: pairs cross the cutoff
    fresh, skinned = minischnet.Calculator(model), minischnet.Calculator(model, skin=0.6)
    crossings = 0
    previous = None
    for step in range(40):
        frames = [atoms.copy(), atoms.copy()]
        frames[1].positions *= 1.1  # two structures in one batch
        (E0, F0), (E1, F1) = fresh.calculate_batch(frames), skinned.calculate_batch(frames)
        np.testing.assert_allclose(E1, E0, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(np.concatenate(F1), np.concatenate(F0), rtol=1e-10, atol=1e-10)
        within = np.sum(atoms.get_all_distances() < model.cutoff)
        crossings += previous is not None and within != previous
        previous = within
        atoms.positions += velocity
    assert crossings > 3  # the test did move pairs across the cutoff
    assert 1 < skinned.pair_list_builds < fresh.pair_list_builds == 40
    with pytest.raises(ValueError, match="skin"):
        minischnet.Calculator(model, skin=-1.0)


def test_verlet_skin_misses_no_pair_in_a_periodic_box():
    """A periodic box of 64 atoms drifting apart and together: at every step the skinned list
    holds every pair within the cutoff (energies and forces equal fresh lists'), also for pairs
    that started beyond cutoff + skin. A rebuild rule looser than skin / 2 misses some."""
    params = small_params("schnet", cutoff=3.0)
    model = torch_model("schnet", params)
    rng = np.random.default_rng(11)
    box = Atoms(
        numbers=rng.integers(1, 9, 64),
        positions=rng.uniform(0, 8.0, (64, 3)),
        cell=np.diag([8.0, 8.0, 8.0]),
        pbc=True,
    )
    velocity = rng.normal(0, 1, (64, 3))
    velocity *= 0.05 / np.linalg.norm(velocity, axis=1, keepdims=True)  # 0.05 Å per step each
    fresh, skinned = minischnet.Calculator(model), minischnet.Calculator(model, skin=0.4)
    entered_from_beyond_skin = 0
    start = box.get_all_distances(mic=True)
    for step in range(40):
        (E0, F0), (E1, F1) = fresh.calculate_batch([box]), skinned.calculate_batch([box])
        assert abs(E1[0] - E0[0]) < 1e-12 * max(1.0, abs(E0[0])), f"step {step}"
        np.testing.assert_allclose(F1[0], F0[0], rtol=0, atol=1e-11)
        now = box.get_all_distances(mic=True)
        entered_from_beyond_skin = max(
            entered_from_beyond_skin, int(np.sum((start > 3.0 + 0.4) & (now < 3.0)) // 2)
        )
        box.positions += velocity
    assert entered_from_beyond_skin > 10  # the test did bring far pairs within the cutoff
    assert 2 < skinned.pair_list_builds < 40 == fresh.pair_list_builds
