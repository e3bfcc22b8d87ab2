"""The data layer: QM9, C20, any ASE file as data sets of structures, and batches of them."""

from ..resources import data_dir
from .batch import Batch, collate, structure_pairs
from .c20 import c20, c20_cage, c20_minimum, c20_sampling
from .dataset import AtomsDataset
from .materials import materials, materials_metadata
from .qm9 import atomization_energies, atomref_u0, n_formylformamide, qm9, qm9_split

__all__ = [
    "AtomsDataset",
    "Batch",
    "atomization_energies",
    "atomref_u0",
    "c20",
    "c20_cage",
    "c20_minimum",
    "c20_sampling",
    "collate",
    "data_dir",
    "materials",
    "materials_metadata",
    "n_formylformamide",
    "qm9",
    "qm9_split",
    "structure_pairs",
]
