"""The PyTorch models: twins of ``minischnet.reference``, batched with flat pair lists."""

from .base import AtomisticModel
from .dtnn import DTNN
from .registry import MODEL_CLASSES, load, save
from .schnet import SchNet

__all__ = ["AtomisticModel", "DTNN", "MODEL_CLASSES", "SchNet", "load", "save"]
