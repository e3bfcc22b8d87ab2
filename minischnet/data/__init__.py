"""The data layer: batches of structures (and, in later issues, QM9, C20 and user data sets)."""

from .batch import Batch, collate, structure_pairs

__all__ = ["Batch", "collate", "structure_pairs"]
