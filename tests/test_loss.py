"""Loss (6): the reference against its definition and finite differences; torch against the
reference."""

import math

import autograd.numpy as anp
import numpy as np
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from autograd import grad

import minischnet
from conftest import CUTOFF, MODELS, random_molecule, small_params, torch_model
from minischnet import reference
from minischnet.train import energy_force_loss

RHO = 0.37


def labelled_structures(rng, sizes=(3, 6, 11)):
    out = []
    for n in sizes:
        Z, R = random_molecule(n, rng)
        out.append(dict(Z=Z, R=R, energy=rng.normal(), forces=rng.normal(size=(n, 3))))
    return out


def test_reference_loss_matches_definition(model_kind, rng):
    params = small_params(model_kind)
    structures = labelled_structures(rng)
    _, energy, forces = MODELS[model_kind]
    expected = np.mean(
        [
            RHO * (s["energy"] - energy(params, s["Z"], s["R"])) ** 2
            + np.sum((s["forces"] - forces(params, s["Z"], s["R"])) ** 2) / len(s["Z"])
            for s in structures
        ]
    )
    assert reference.energy_force_loss(params, structures, RHO, model_kind) == pytest.approx(
        expected, rel=1e-13
    )


def test_reference_loss_gradient_by_finite_differences(model_kind, rng):
    params = small_params(model_kind)
    structures = labelled_structures(rng, sizes=(4, 7))
    g = grad(reference.energy_force_loss)(params, structures, RHO, model_kind)
    key = "interaction1.fd.W" if model_kind == "dtnn" else "interaction1.filter1.W"
    for idx in [(0, 0), (3, 5)]:
        h = 1e-5  # round-off ~ eps * loss / h, truncation ~ h^2: 1e-5 keeps both far below rel 1e-6
        plus, minus = dict(params), dict(params)
        plus[key], minus[key] = params[key].copy(), params[key].copy()
        plus[key][idx] += h
        minus[key][idx] -= h
        fd = (
            reference.energy_force_loss(plus, structures, RHO, model_kind)
            - reference.energy_force_loss(minus, structures, RHO, model_kind)
        ) / (2 * h)
        assert g[key][idx] == pytest.approx(fd, rel=1e-6, abs=1e-9)


def test_torch_loss_and_its_gradient_match_reference(model_kind, rng):
    """Forces keep their graph in training mode: d loss / d weights equals the reference's."""
    params = small_params(model_kind)
    structures = labelled_structures(rng)
    atoms = []
    for s in structures:
        a = Atoms(numbers=s["Z"], positions=s["R"])
        a.calc = SinglePointCalculator(a, energy=s["energy"], forces=s["forces"])
        atoms.append(a)
    model = torch_model(model_kind, params).train()
    loss = energy_force_loss(model, minischnet.collate(atoms, CUTOFF), RHO)
    loss.backward()
    expected = reference.energy_force_loss(params, structures, RHO, model_kind)
    assert loss.item() == pytest.approx(expected, rel=1e-12)

    g_ref = grad(reference.energy_force_loss)(params, structures, RHO, model_kind)
    g_torch = {}
    for name, p in model.named_parameters():
        key = model._reference_name(name)
        g_torch[key] = p.grad.numpy().T if model._torch_name(key)[1] else p.grad.numpy()
    assert set(g_torch) <= set(g_ref)
    for key, g in g_torch.items():
        np.testing.assert_allclose(
            g, g_ref[key], rtol=1e-10, atol=1e-12 * np.abs(g_ref[key]).max(), err_msg=key
        )


def test_absolute_energy_error_and_its_gradient_match_reference(model_kind, rng):
    """energy_error="absolute" (energies alone): the mean of |E - Ê| over the batch, and its
    gradient d/dw that of the reference energy (1) through autograd."""
    params = small_params(model_kind)
    structures = labelled_structures(rng)
    atoms = []
    for s in structures:
        a = Atoms(numbers=s["Z"], positions=s["R"])
        a.calc = SinglePointCalculator(a, energy=s["energy"])
        atoms.append(a)
    _, energy, _ = MODELS[model_kind]

    def mean_absolute_error(p):
        errors = [anp.abs(s["energy"] - energy(p, s["Z"], s["R"])) for s in structures]
        return sum(errors) / len(errors)

    model = torch_model(model_kind, params).train()
    batch = minischnet.collate(atoms, CUTOFF)
    loss = energy_force_loss(model, batch, math.inf, "absolute")
    loss.backward()
    assert loss.item() == pytest.approx(mean_absolute_error(params), rel=1e-12)
    squared = energy_force_loss(model, batch, math.inf).item()  # (6): another number
    assert abs(squared - loss.item()) > 1e-3
    g_ref = grad(mean_absolute_error)(params)
    for name, p in model.named_parameters():
        key = model._reference_name(name)
        g = p.grad.numpy().T if model._torch_name(key)[1] else p.grad.numpy()
        np.testing.assert_allclose(
            g, g_ref[key], rtol=1e-10, atol=1e-12 * np.abs(g_ref[key]).max(), err_msg=key
        )


def test_absolute_energy_error_is_for_energies_alone(rng):
    model = torch_model("schnet", small_params("schnet"))
    Z, R = random_molecule(4, rng)
    atoms = Atoms(numbers=Z, positions=R)
    atoms.calc = SinglePointCalculator(atoms, energy=1.0, forces=np.zeros((4, 3)))
    batch = minischnet.collate([atoms], CUTOFF)
    with pytest.raises(ValueError, match=r"energies alone \(rho = inf\), not .* \(rho = 0.1\)"):
        energy_force_loss(model, batch, 0.1, "absolute")
    with pytest.raises(ValueError, match="energy_error must be one of .* not 'l1'"):
        energy_force_loss(model, batch, math.inf, "l1")


def test_loss_on_a_crystal_equals_the_reference(model_kind, rng):
    """Loss (6) of a periodic cell: the reference sees the cell and pbc (its images pair up)."""
    from conftest import random_crystal

    params = small_params(model_kind)
    crystal = random_crystal(rng)
    F_label = rng.normal(0, 0.3, (len(crystal), 3))
    s = dict(Z=crystal.numbers, R=crystal.positions, cell=crystal.cell.array, pbc=crystal.pbc,
             energy=-1.5, forces=F_label)  # fmt: skip
    crystal.calc = SinglePointCalculator(crystal, energy=-1.5, forces=F_label)
    loss = energy_force_loss(
        torch_model(model_kind, params), minischnet.collate([crystal], CUTOFF), 0.2
    )
    assert reference.energy_force_loss(params, [s], 0.2, model_kind) == pytest.approx(
        loss.item(), rel=1e-12
    )
    as_molecule = dict(s, cell=None, pbc=None)  # without its images the loss is another number
    assert (
        abs(reference.energy_force_loss(params, [as_molecule], 0.2, model_kind) - loss.item())
        > 1e-3
    )


def test_loss_says_what_the_batch_lacks(rng):
    model = torch_model("schnet", small_params("schnet"))
    Z, R = random_molecule(4, rng)
    bare = minischnet.collate([(Z, R)], CUTOFF)
    with pytest.raises(ValueError, match="needs reference energies"):
        energy_force_loss(model, bare, 0.1)
    atoms = Atoms(numbers=Z, positions=R)
    atoms.calc = SinglePointCalculator(atoms, energy=1.0)
    energies_only = minischnet.collate([atoms], CUTOFF)
    with pytest.raises(ValueError, match="finite rho needs reference forces"):
        energy_force_loss(model, energies_only, 0.1)
    energy_alone = energy_force_loss(model, energies_only, float("inf")).item()  # fine: (E - Ê)^2
    assert energy_alone == pytest.approx((1.0 - model(energies_only).item()) ** 2, rel=1e-12)
