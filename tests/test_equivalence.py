"""The reference (NumPy + autograd) and the PyTorch twins compute the same function."""

import numpy as np
import pytest
import torch

import minischnet
from conftest import CUTOFF, MODELS, random_crystal, random_molecule, small_params, torch_model
from minischnet import reference


def reference_ef(kind, params, Z, R, cell=None, pbc=None):
    _, energy, forces = MODELS[kind]
    return energy(params, Z, R, cell, pbc), forces(params, Z, R, cell, pbc)


def assert_close_rel(a, b, rtol):
    """|a - b| <= rtol * max(|b|, 1): relative, but absolute (in eV, eV/Å) for values below 1,
    where the sum of atom-wise terms of order 1 cancels and round-off stays at their scale."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = max(np.abs(b).max(), 1.0)
    assert np.abs(a - b).max() <= rtol * scale, (
        f"max |a-b| = {np.abs(a - b).max():.3e}, scale {scale:.3e}"
    )


@pytest.mark.parametrize("n_atoms", [1, 2, 3, 7, 16, 30])
def test_single_molecule_float64(model_kind, n_atoms, rng):
    params = small_params(model_kind)
    model = torch_model(model_kind, params)
    Z, R = random_molecule(n_atoms, rng)
    E_ref, F_ref = reference_ef(model_kind, params, Z, R)
    E, F = model.energy_and_forces(minischnet.collate([(Z, R)], CUTOFF))
    assert_close_rel(E.item(), E_ref, 1e-12)
    assert_close_rel(F.numpy(), F_ref, 1e-12)
    if n_atoms > 1:  # a lone atom has no forces; everything else must have some
        assert np.abs(F_ref).max() > 1e-3


def test_mixed_size_batch(model_kind, rng):
    params = small_params(model_kind)
    model = torch_model(model_kind, params)
    molecules = [random_molecule(n, rng) for n in (5, 1, 23, 9, 2, 30)]
    E, F = model.energy_and_forces(minischnet.collate(molecules, CUTOFF))
    splits = np.cumsum([len(Z) for Z, _ in molecules])[:-1]
    for (Z, R), e, f in zip(molecules, E.numpy(), np.split(F.numpy(), splits)):
        E_ref, F_ref = reference_ef(model_kind, params, Z, R)
        assert_close_rel(e, E_ref, 1e-12)
        assert_close_rel(f, F_ref, 1e-12)


def test_periodic_crystal(model_kind, rng):
    params = small_params(model_kind)
    model = torch_model(model_kind, params)
    atoms = random_crystal(rng)
    E_ref, F_ref = reference_ef(
        model_kind, params, atoms.numbers, atoms.positions, atoms.cell.array, atoms.pbc
    )
    E, F = model.energy_and_forces(minischnet.collate([atoms], CUTOFF))
    assert_close_rel(E.item(), E_ref, 1e-12)
    assert_close_rel(F.numpy(), F_ref, 1e-12)
    # The cutoff (4 Å) reaches past the cell (about 3 Å): images must contribute, forces sum to
    # zero.
    assert np.abs(F_ref.sum(axis=0)).max() < 1e-12
    assert np.abs(F_ref).max() > 1e-3


def test_float32_agrees_with_float64(model_kind, rng):
    params = small_params(model_kind)
    molecules = [random_molecule(n, rng) for n in (4, 17, 30)]
    batch = minischnet.collate(molecules, CUTOFF)
    E64, F64 = torch_model(model_kind, params, torch.float64).energy_and_forces(batch)
    E32, F32 = torch_model(model_kind, params, torch.float32).energy_and_forces(batch)
    assert E32.dtype == torch.float32
    assert_close_rel(E32.numpy(), E64.numpy(), 1e-5)
    assert_close_rel(F32.numpy(), F64.numpy(), 1e-5)


def test_weights_round_trip_exactly(model_kind):
    params = small_params(model_kind)
    back = torch_model(model_kind, params).to_reference()
    assert sorted(back) == sorted(params)
    for key in params:
        np.testing.assert_array_equal(back[key], params[key], err_msg=key)


def test_default_init_matches_reference_layout():
    """A model built in torch exports parameters the reference can evaluate."""
    model = (
        minischnet.SchNet(n_features=8, n_interactions=2, n_rbf=6, cutoff=3.0, max_z=10)
        .double()
        .eval()
    )
    params = model.to_reference()
    Z, R = (
        np.array([6, 1, 1, 8]),
        np.array([[0, 0, 0], [1.1, 0, 0], [0, 1.1, 0], [0, 0, 1.3]], float),
    )
    from minischnet import reference

    E, _ = model.energy_and_forces(minischnet.collate([(Z, R)], 3.0))
    assert_close_rel(E.item(), reference.schnet_energy(params, Z, R), 1e-12)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_reference(model_kind, rng):
    params = small_params(model_kind)
    molecules = [random_molecule(n, rng) for n in (3, 30, 12)]
    batch = minischnet.collate(molecules, CUTOFF)
    E, F = torch_model(model_kind, params, torch.float64, "cuda").energy_and_forces(batch)
    assert E.device.type == "cuda"
    splits = np.cumsum([len(Z) for Z, _ in molecules])[:-1]
    for (Z, R), e, f in zip(molecules, E.cpu().numpy(), np.split(F.cpu().numpy(), splits)):
        E_ref, F_ref = reference_ef(model_kind, params, Z, R)
        assert_close_rel(e, E_ref, 1e-12)
        assert_close_rel(f, F_ref, 1e-12)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_tabulated_and_calculator():
    from ase.build import molecule

    params = small_params("schnet")
    model = torch_model("schnet", params, torch.float64, "cuda")
    atoms = molecule("CH3CH2OH")
    atoms.calc = minischnet.Calculator(model)
    E_ref = MODELS["schnet"][1](params, atoms.numbers, atoms.positions)
    assert atoms.get_potential_energy() == pytest.approx(E_ref, rel=1e-12)
    model.tabulate_filters()
    assert model.filter_tables.device.type == "cuda"
    atoms.calc = minischnet.Calculator(model)
    assert atoms.get_potential_energy() == pytest.approx(E_ref, rel=1e-7)


def test_batches_are_moved_to_the_model_dtype(rng):
    """collate gives float64; a float32 model converts the batch itself (forward and
    atom_energies)."""
    torch.manual_seed(0)
    model = minischnet.SchNet(n_features=8, n_interactions=1, n_rbf=6, cutoff=CUTOFF).eval()
    Z, R = random_molecule(5, rng)
    batch = minischnet.collate([(Z, R)], CUTOFF)
    assert batch.R.dtype == torch.float64
    converted = batch.to(dtype=torch.float32)
    with torch.no_grad():
        assert model(batch).item() == model(converted).item()
        assert torch.equal(model.atom_energies(batch), model.atom_energies(converted))


def test_shifted_softplus_is_exact_in_value_and_gradient():
    """ssp and its gradient equal the reference's (np.logaddexp, autograd) to round-off everywhere,
    also beyond softplus's default threshold of 20, where a plain F.softplus is off by 2e-9."""
    from autograd import elementwise_grad

    from minischnet.nn.layers import shifted_softplus

    x = np.concatenate([np.linspace(-60, 60, 2401), [-800.0, 800.0]])
    t = torch.tensor(x, requires_grad=True)
    y = shifted_softplus(t)
    (g,) = torch.autograd.grad(y.sum(), t)
    np.testing.assert_allclose(
        y.detach().numpy(), reference.shifted_softplus(x), rtol=1e-15, atol=1e-15
    )
    np.testing.assert_allclose(
        g.numpy(), elementwise_grad(reference.shifted_softplus)(x), rtol=0, atol=1e-14
    )
    plain = torch.nn.functional.softplus(torch.tensor(25.0, dtype=torch.float64)) - np.log(2.0)
    assert abs(plain.item() - reference.shifted_softplus(25.0)) > 1e-11  # what the threshold fixes


@pytest.mark.parametrize("kind", ["schnet", "dtnn"])
def test_radial_basis_and_read_out_defaults_in_closed_form(kind):
    """Both twins start from K Gaussians centred every Δ = r_c / (K - 1) from 0, of width Δ
    (γ = 1 / (2Δ²)), and the read-out scale E_i = 1 · NN_E(x_i) + 0 + 0."""
    init = reference.init_schnet if kind == "schnet" else reference.init_dtnn
    cls = minischnet.SchNet if kind == "schnet" else minischnet.DTNN
    for K, cutoff in ((2, 3.0), (7, 5.0)):
        delta = cutoff / (K - 1)
        for params in (
            init(4, 1, K, cutoff, max_z=5),
            cls(4, 1, K, cutoff, max_z=5).to_reference(),
        ):
            np.testing.assert_allclose(
                params["rbf_centers"], [k * delta for k in range(K)], atol=1e-7
            )
            assert float(params["rbf_gamma"]) == pytest.approx(1 / (2 * delta**2), rel=1e-7)
            assert float(params["mean"]) == 0.0 and float(params["std"]) == 1.0
            assert not np.any(params["atomref"])
    with pytest.raises(ValueError, match="n_rbf must be at least 2"):  # the reference
        init(4, 1, 1, 3.0)
    with pytest.raises(ValueError, match="n_rbf must be a whole number >= 2"):  # the twin
        cls(4, 1, 1, 3.0)


@pytest.mark.parametrize("cls", [minischnet.SchNet, minischnet.DTNN])
@pytest.mark.parametrize(
    "sizes, message",
    [
        (dict(n_features=1), "n_features must be a whole number >= 2, got 1"),
        (dict(n_features=16.5), "n_features must be a whole number"),
        (dict(n_features=64.0), "n_features must be a whole number >= 2, got 64.0"),
        (dict(n_interactions=2.0), "n_interactions must be a whole number >= 0, got 2.0"),
        (dict(n_interactions=-1), "n_interactions must be a whole number >= 0, got -1"),
        (dict(cutoff=float("nan")), "cutoff must be a positive number of Å, got nan"),
        (dict(cutoff=-5.0), "cutoff must be a positive number of Å, got -5.0"),
        (dict(max_z=0), "max_z must be an atomic number 1-118, got 0"),
    ],
)
def test_model_sizes_that_mean_nothing_are_refused(cls, sizes, message):
    """A one-feature read-out (F -> F/2 = 0 -> 1) is a constant; a NaN cutoff makes every energy
    NaN: refused when the model is built, by name."""
    with pytest.raises(ValueError, match=message):
        cls(**sizes)


def test_a_model_given_atoms_says_what_it_takes():
    from ase.build import molecule

    model = minischnet.SchNet(n_features=8, n_interactions=1, n_rbf=5, cutoff=3.0, max_z=9)
    water = molecule("H2O")
    for call in (model, model.atom_energies, model.energy_and_forces):
        with pytest.raises(TypeError, match=r"takes a Batch, not Atoms: minischnet.collate"):
            call(water)
    batch = minischnet.collate([water], model.cutoff)  # what it takes
    assert model(batch).shape == (1,)


def test_dtnn_factor_space_travels_with_the_weights(rng):
    """A DTNN whose factor space (5) differs from its features (8) is rebuilt as such."""
    params = reference.init_dtnn(8, 2, 6, CUTOFF, max_z=9, seed=3, n_factors=5)
    model = minischnet.DTNN.from_reference(params, dtype=torch.float64).eval()
    assert model.n_factors == 5 and model.interactions[0].fx.out_features == 5
    Z, R = random_molecule(6, rng, max_z=9)
    E, F = model.energy_and_forces(minischnet.collate([(Z, R)], CUTOFF))
    assert_close_rel(E.item(), reference.dtnn_energy(params, Z, R), 1e-12)
    assert_close_rel(F.numpy(), reference.dtnn_forces(params, Z, R), 1e-12)


def test_every_element_up_to_max_z_is_accepted_and_the_bad_one_named():
    model = minischnet.SchNet(n_features=4, n_interactions=1, n_rbf=3, cutoff=3.0, max_z=9).double()
    R = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    model.energy_and_forces(minischnet.collate([(np.array([1, 9]), R)], 3.0))  # Z = max_z is fine
    with pytest.raises(ValueError, match="element number 10 is outside 1..9"):
        model.energy_and_forces(minischnet.collate([(np.array([1, 10]), R)], 3.0))


def test_from_reference_refuses_incomplete_parameters():
    """Every weight must be given: a missing one is an error, not a silently random weight."""
    params = small_params("schnet")
    del params["interaction1.dense.b"]
    with pytest.raises(RuntimeError, match="interactions.1.dense.bias"):
        minischnet.SchNet.from_reference(params)


@pytest.mark.parametrize("periodic_along", ["z (nanotube)", "x, y (slab)"])
def test_mixed_boundary_conditions(model_kind, periodic_along):
    """A nanotube and a slab whose unused cell rows are zero (ASE's convention) give the
    reference's energy and forces through collate and the Calculator."""
    from ase.build import fcc111, nanotube

    if periodic_along.startswith("z"):
        atoms = nanotube(4, 0, length=2, bond=1.42, symbol="C")
    else:
        atoms = fcc111("Al", (2, 2, 2), a=4.05, vacuum=None)
        atoms.numbers[:] = 13  # keep Al, and under max_z = 20
    atoms.rattle(0.02, seed=1)
    params = small_params(model_kind)
    model = torch_model(model_kind, params)
    E_ref, F_ref = reference_ef(
        model_kind, params, atoms.numbers, atoms.positions, atoms.cell.array, atoms.pbc
    )
    E, F = model.energy_and_forces(minischnet.collate([atoms], CUTOFF))
    assert_close_rel(E.item(), E_ref, 1e-12)
    assert_close_rel(F.numpy(), F_ref, 1e-12)
    assert np.abs(F_ref).max() > 1e-3
    atoms.calc = minischnet.Calculator(model)
    assert_close_rel(atoms.get_potential_energy(), E_ref, 1e-12)
    assert_close_rel(atoms.get_forces(), F_ref, 1e-12)
