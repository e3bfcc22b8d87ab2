"""Tabulated SchNet filters (cubic Hermite): exact at the knots, fourth-order accurate, C1."""

import numpy as np
import pytest
import torch
from test_forces import finite_difference_forces

import minischnet
from conftest import CUTOFF, random_crystal, random_molecule, small_params, torch_model
from minischnet.data import c20_cage
from minischnet.nn.tabulate import hermite_interpolate, hermite_table


def test_exact_at_knots_and_fourth_order():
    """A closed-form filter: the interpolant hits the knots exactly and its error falls as h^4."""

    def fn(d):
        return torch.stack([torch.sin(3 * d), torch.exp(-(d**2))], dim=1)

    errors = []
    for h in (0.1, 0.05):
        table = hermite_table(fn, 4.0, h)
        knots = torch.linspace(0, 4.0, len(table) // 2, dtype=torch.float64)
        torch.testing.assert_close(
            hermite_interpolate(knots[:-1], table, 4.0), fn(knots[:-1]), rtol=0, atol=1e-15
        )
        d = torch.rand(2000, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 3.99
        errors.append((hermite_interpolate(d, table, 4.0) - fn(d)).abs().max().item())
    assert 12 < errors[0] / errors[1] < 20  # 2^4 = 16
    assert errors[1] < 0.05**4 / 384 * 3**4 * 1.01  # h^4/384 max|f''''|, f = sin(3d)


def test_tabulated_model_matches_exact(rng):
    params = small_params("schnet")
    model = torch_model("schnet", params)
    structures = [random_molecule(n, rng) for n in (3, 12, 30)]
    crystal = random_crystal(rng)
    batch = minischnet.collate(structures + [crystal], CUTOFF)
    E0, F0 = model.energy_and_forces(batch)
    error = model.tabulate_filters(spacing=0.01)
    assert error < 1e-6
    E, F = model.energy_and_forces(batch)
    assert (E - E0).abs().max().item() < 1e-7 * E0.abs().max().item()
    assert (F - F0).abs().max().item() < 1e-6 * F0.abs().max().item()
    assert (E - E0).abs().max().item() > 0  # the tables were used


def test_tabulated_forces_are_its_gradient(rng):
    """The interpolant is C1: forces are exactly minus the gradient of the tabulated energy."""
    model = torch_model("schnet", small_params("schnet"))
    model.tabulate_filters(spacing=0.05)
    Z, R = random_molecule(6, rng)

    def energy(R_):
        return model.energy_and_forces(minischnet.collate([(Z, R_)], CUTOFF))[0].item()

    F = model.energy_and_forces(minischnet.collate([(Z, R)], CUTOFF))[1].numpy()
    np.testing.assert_allclose(
        F, finite_difference_forces(energy, R, h=1e-6), atol=1e-7 * np.abs(F).max()
    )


def test_training_drops_the_tables():
    model = minischnet.SchNet(8, 2, 6, 3.0, max_z=10).eval()
    model.tabulate_filters()
    assert model.filter_tables.shape == (2, 2 * 301, 8)
    model.train()
    assert model.filter_tables is None


def test_float32_tabulated_c20():
    torch.manual_seed(0)
    model = minischnet.SchNet(32, 3, 20, 5.0).eval()
    cage = c20_cage()
    cage.rattle(0.05, seed=1)
    batch = minischnet.collate([cage] * 2, 5.0)
    E0, F0 = model.double().energy_and_forces(batch)
    model.float()
    model.tabulate_filters()
    assert model.filter_tables.dtype == torch.float32
    E, F = model.energy_and_forces(batch)
    assert E.dtype == torch.float32
    torch.testing.assert_close(E.double(), E0, rtol=1e-5, atol=0)
    assert F0.abs().max().item() > 1e-3
    torch.testing.assert_close(F.double(), F0, rtol=0, atol=1e-6)  # float32 round-off level


def test_tabulated_filters_vanish_at_and_beyond_the_cutoff():
    """A Verlet list holds pairs out to cutoff + skin: their tabulated filters are exactly zero,
    however far beyond the last knot they lie."""
    torch.manual_seed(0)
    model = minischnet.SchNet(n_features=8, n_interactions=1, n_rbf=6, cutoff=3.0).double().eval()
    model.tabulate_filters(spacing=0.1)
    d = torch.tensor([2.95, 3.0, 3.05, 3.5, 4.2, 9.0], dtype=torch.float64)
    W = hermite_interpolate(d, model.filter_tables[0], model.cutoff)
    assert W[0].abs().max() > 0  # inside: a filter
    assert torch.equal(W[1:], torch.zeros_like(W[1:]))


def test_reported_filter_error_is_the_measured_one():
    """tabulate_filters returns the largest relative filter error; measured here on a grid of
    20 points per interval it is the same number (Hermite errors peak near the midpoints)."""
    torch.manual_seed(1)
    model = minischnet.SchNet(n_features=8, n_interactions=2, n_rbf=6, cutoff=3.0).double().eval()
    reported = model.tabulate_filters(spacing=0.05)
    d = torch.linspace(0.0, 2.999, 20 * 60 + 1, dtype=torch.float64)
    measured = 0.0
    for t, table in enumerate(model.filter_tables):
        with torch.no_grad():
            exact = model.interactions[t].filter(*model.expand(d))
            error = (hermite_interpolate(d, table, model.cutoff) - exact).abs().max()
        measured = max(measured, (error / exact.abs().max()).item())
    assert 1e-12 < reported and measured == pytest.approx(reported, rel=0.05)
