"""The crystal data set of ``make_materials``: GFN1-xTB formation energies over 63 elements."""

from __future__ import annotations

import json

import numpy as np

from ..resources import find, user_dir
from .dataset import AtomsDataset
from .paths import read_npz


def materials_metadata() -> dict:
    """materials.json: the method, the elements, the elemental references, the cells left out."""
    recipe = f"python -m minischnet.data.make_materials --out {user_dir() / 'materials'}"
    return json.loads(find("materials/materials.json", recipe).read_text())


def materials() -> AtomsDataset:
    """Primitive cells (periodic) with energies = formation energy per cell (eV).

    ``info["formation_energy_per_atom"]`` is the intensive target (eV/atom); the models sum
    atom-wise contributions, so they learn the per-cell value. data/materials/materials.json has
    the method, the elemental references and every structure whose SCF failed (left out).

    H, N, O, F, Cl, Br and I are referenced to their diatomic molecules; cells still outside
    +-5 eV/atom were left out as implausible and are listed in the metadata (data/README.md).
    """
    recipe = f"python -m minischnet.data.make_materials --out {user_dir() / 'materials'}"
    arrays = read_npz(find("materials/materials.npz", recipe), recipe)
    n = len(arrays["energy"])
    return AtomsDataset(
        arrays["Z"],
        arrays["R"],
        arrays["start"],
        energy=arrays["formation_energy"],
        cell=arrays["cell"],
        pbc=np.ones((n, 3), dtype=bool),
        name="crystals GFN1-xTB",
        info={
            "name": arrays["name"],
            "index": arrays["index"],  # index: position in make_materials.all_structures
            "formation_energy_per_atom": arrays["formation_energy_per_atom"],
            "total_energy": arrays["energy"],
        },
    )
