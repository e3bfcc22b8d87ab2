"""Interpretation: local chemical potentials with a probe the molecule cannot feel."""

import numpy as np
import pytest
import torch
from ase.build import molecule

import minischnet
from minischnet.interpret import local_potential
from conftest import CUTOFF, small_params, torch_model
from test_symmetry import random_rotation


@pytest.fixture
def model(model_kind):
    return torch_model(model_kind, small_params(model_kind))


def test_probe_leaves_the_molecule_untouched(model):
    mol = molecule("HCOOH")
    alone = model.atom_energies(minischnet.collate([mol], CUTOFF)).detach()
    point = mol.positions[0] + np.array([0.0, 1.2, 0.4])
    with_probe = minischnet.collate([(np.append(mol.numbers, 1), np.vstack([mol.positions, point]))], CUTOFF)
    with_probe.unseen = torch.tensor([False] * len(mol) + [True])
    masked = model.atom_energies(with_probe).detach()
    torch.testing.assert_close(masked[:-1], alone, rtol=0, atol=1e-12)
    with_probe.unseen = None  # an ordinary hydrogen is felt by its neighbours
    assert (model.atom_energies(with_probe).detach()[:-1] - alone).abs().max() > 1e-3
    # and the masked probe's energy is what local_potential reports
    assert local_potential(model, mol, [point])[0] == pytest.approx(masked[-1].item(), rel=1e-12)


def test_invariant_under_rotating_molecule_and_probe_together(model, rng):
    mol = molecule("CH3CHO")
    points = mol.positions.mean(axis=0) + rng.normal(0, 2.0, (50, 3))
    V = local_potential(model, mol, points)
    Q = random_rotation(rng)
    turned = mol.copy()
    turned.positions = mol.positions @ Q.T + 3.0
    np.testing.assert_allclose(local_potential(model, turned, points @ Q.T + 3.0, batch_size=7), V, rtol=1e-10)
    assert V.std() > 1e-3  # the potential does vary in space


def test_far_away_probe_is_a_free_atom(model):
    mol = molecule("H2O")
    far = local_potential(model, mol, [[0.0, 0.0, CUTOFF + 5.0]], probe="O")[0]
    free = model.atom_energies(minischnet.collate([(np.array([8]), np.zeros((1, 3)))], CUTOFF))[0].item()
    assert far == pytest.approx(free, rel=1e-12)
    with pytest.raises(ValueError, match="points"):
        local_potential(model, mol, np.zeros((4, 2)))
