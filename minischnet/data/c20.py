"""The C20 fullerene cage (the paper's molecular-dynamics system)."""

from __future__ import annotations

import itertools
import json

import numpy as np
from ase import Atoms

from ..resources import find, user_dir
from .paths import read_npz


def _recipe() -> str:
    return f"python -m minischnet.data.make_c20 --out {user_dir() / 'c20'}"


def c20_cage(bond_length: float = 1.45) -> Atoms:
    """An ideal dodecahedral C20 cage (I_h), every C-C bond ``bond_length`` Å long.

    The 20 vertices of a regular dodecahedron: (±1, ±1, ±1), (0, ±1/φ, ±φ), (±1/φ, ±φ, 0),
    (±φ, 0, ±1/φ), whose edge is 2/φ. The real molecule distorts slightly (Jahn-Teller);
    a geometry optimisation with the reference method finds that.
    """
    phi = (1 + 5**0.5) / 2
    vertices = [np.array(v, float) for v in itertools.product((-1, 1), repeat=3)]
    for a, b in itertools.product((-1, 1), repeat=2):
        vertices += [
            np.array([0, a / phi, b * phi]),
            np.array([a / phi, b * phi, 0]),
            np.array([a * phi, 0, b / phi]),
        ]
    positions = np.array(vertices) * bond_length / (2 / phi)
    return Atoms("C20", positions=positions)


def c20(split: str = "train"):
    """The C20 GFN2-xTB data set (energies eV, forces eV/Å) as an AtomsDataset.

    ``split`` is "train" (20,000 structures) or "test" (2,000, from independent trajectories
    and normal-mode draws). Made by ``python -m minischnet.data.make_c20``; data/c20/c20.json
    holds the method, program version, temperatures, seeds and command.
    """
    from .dataset import AtomsDataset

    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    path = find("c20/c20.npz", _recipe())
    arrays = read_npz(path, _recipe(), [f"{split}_R", f"{split}_E", f"{split}_F"])
    R, E, F = (arrays[f"{split}_{k}"] for k in "REF")
    n = len(E)
    if R.shape != (n, 20, 3) or F.shape != (n, 20, 3):
        raise ValueError(
            f"{path} is damaged: {split} positions {R.shape}, forces {F.shape} for {n} energies"
        )
    return AtomsDataset(
        Z=np.full(20 * n, 6),
        R=R.reshape(-1, 3),
        start=np.arange(0, 20 * n + 1, 20),
        energy=E,
        forces=F.reshape(-1, 3),
        name=f"C20 GFN2-xTB ({split})",
    )


def c20_sampling(split: str = "train") -> np.ndarray:
    """How each structure of ``data.c20(split)`` was drawn: "normal modes", "MD 600 K",
    "MD 900 K" or "MD 1200 K", one string per structure, in the data set's order (from
    data/c20/c20.json).

    The training set is 90 % normal-mode samples and 10 % MD frames, the test set half and half,
    so errors broken down by this label say where a model is weak (tutorial 6).
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    meta = json.loads(find("c20/c20.json", _recipe()).read_text())
    labels = []
    for chunk in meta["chunks"]:
        if chunk["split"] == split:
            label = (
                "normal modes"
                if chunk["kind"] == "normal_modes"
                else f"MD {chunk['temperature_K']:.0f} K"
            )
            labels += [label] * chunk["n"]
    if len(labels) != meta[f"n_{split}"]:
        raise ValueError(
            f"data/c20/c20.json is inconsistent: its {split} chunks hold {len(labels)} structures, "
            f"not {meta[f'n_{split}']}"
        )
    return np.array(labels)


def c20_minimum() -> Atoms:
    """The GFN2-xTB minimum of C20 (relaxed by make_c20), the start of every C20 simulation."""
    atoms = c20_cage()
    path = find("c20/minimum.npz", _recipe())
    atoms.positions = read_npz(path, _recipe(), ["positions"])["positions"]
    return atoms
