"""Shared test fixtures: random molecules and crystals, parameters of small models."""

import os
import zlib

import numpy as np
import pytest
import torch
from ase import Atoms

from minischnet import reference

os.environ.setdefault("TQDM_DISABLE", "1")  # progress bars are for people, not for test logs

CUTOFF = 4.0


def random_molecule(n_atoms, rng, min_distance=0.9, max_z=9):
    """n atoms in a box that grows with n, no two closer than ``min_distance`` Å."""
    box = 1.6 * max(n_atoms, 2) ** (1 / 3)
    R = []
    while len(R) < n_atoms:
        r = rng.uniform(0, box, 3)
        if all(np.linalg.norm(r - q) > min_distance for q in R):
            R.append(r)
    Z = rng.integers(1, max_z + 1, n_atoms)
    return Z, np.array(R)


def random_crystal(rng):
    """A small triclinic periodic cell with 3 atoms (cutoff larger than the cell)."""
    cell = np.array([[3.1, 0.0, 0.0], [0.7, 2.9, 0.0], [0.4, -0.5, 3.3]])
    frac = np.array([[0.0, 0.0, 0.0], [0.5, 0.45, 0.1], [0.2, 0.7, 0.6]]) + rng.normal(
        0, 0.02, (3, 3)
    )
    Z = np.array([8, 14, 1])
    return Atoms(numbers=Z, scaled_positions=frac, cell=cell, pbc=True)


@pytest.fixture
def rng():
    return np.random.default_rng(42)


MODELS = {
    "schnet": (reference.init_schnet, reference.schnet_energy, reference.schnet_forces),
    "dtnn": (reference.init_dtnn, reference.dtnn_energy, reference.dtnn_forces),
}


@pytest.fixture(params=sorted(MODELS))
def model_kind(request):
    return request.param


def small_params(kind, seed=0, n_features=16, n_interactions=2, n_rbf=12, cutoff=CUTOFF):
    params = MODELS[kind][0](n_features, n_interactions, n_rbf, cutoff, max_z=20, seed=seed)
    # Non-trivial read-out scale and shift, so the tests see them too.
    params["mean"], params["std"] = np.array(-0.3), np.array(1.7)
    params["atomref"] = np.random.default_rng(seed).normal(size=params["atomref"].shape)
    # Non-zero biases, so that a dropped or misplaced bias would show.
    for key in params:
        if key.endswith(".b"):
            params[key] = np.random.default_rng(zlib.crc32(key.encode())).normal(
                0, 0.3, params[key].shape
            )
    return params


def torch_model(kind, params, dtype=torch.float64, device="cpu"):
    import minischnet

    cls = {"schnet": minischnet.SchNet, "dtnn": minischnet.DTNN}[kind]
    return cls.from_reference(params, dtype=dtype, device=device).eval()
