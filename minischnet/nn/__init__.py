"""The PyTorch models: twins of ``minischnet.reference``, batched with flat pair lists."""

from .base import AtomisticModel
from .dtnn import DTNN
from .schnet import SchNet

__all__ = ["AtomisticModel", "DTNN", "SchNet"]
