"""The data layer: data sets of structures (C20, any ASE file) and batches of them."""

from .batch import Batch, collate, structure_pairs
from .c20 import c20, c20_cage, c20_minimum
from .dataset import AtomsDataset

__all__ = ["AtomsDataset", "Batch", "c20", "c20_cage", "c20_minimum", "collate", "structure_pairs"]
