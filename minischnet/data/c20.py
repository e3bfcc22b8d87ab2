"""The C20 fullerene cage (the paper's molecular-dynamics system)."""

from __future__ import annotations

import itertools

import numpy as np
from ase import Atoms


def c20_cage(bond_length: float = 1.45) -> Atoms:
    """An ideal dodecahedral C20 cage (I_h), every C-C bond ``bond_length`` Å long.

    The 20 vertices of a regular dodecahedron: (±1, ±1, ±1), (0, ±1/φ, ±φ), (±1/φ, ±φ, 0),
    (±φ, 0, ±1/φ), whose edge is 2/φ. The real molecule distorts slightly (Jahn-Teller);
    a geometry optimisation with the reference method finds that.
    """
    phi = (1 + 5**0.5) / 2
    vertices = [np.array(v, float) for v in itertools.product((-1, 1), repeat=3)]
    for a, b in itertools.product((-1, 1), repeat=2):
        vertices += [np.array([0, a / phi, b * phi]), np.array([a / phi, b * phi, 0]), np.array([a * phi, 0, b / phi])]
    positions = np.array(vertices) * bond_length / (2 / phi)
    return Atoms("C20", positions=positions)
