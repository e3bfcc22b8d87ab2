"""minischnet: DTNN and SchNet, written twice — a NumPy/autograd reference and a PyTorch twin.

    minischnet.reference      equations (1)-(6), NumPy + autograd, float64: read it next to the paper
    minischnet.SchNet, DTNN   the same functions as torch modules, batched, CPU or CUDA
    minischnet.collate        ase.Atoms -> Batch (flat atoms, flat pair lists, structure index)
    minischnet.Calculator     an ASE calculator around any model

Units: Å, eV, eV/Å everywhere; conversions only at the edges.
"""

from ._malloc import keep_freed_memory
from ._scale import scale
from .calculator import Calculator
from .data.batch import Batch, collate
from .nn import DTNN, SchNet
from .train import load, save

__version__ = "0.1.0"

keep_freed_memory()  # see minischnet/_malloc.py: 2x faster CPU evaluation, measured
__all__ = ["Batch", "Calculator", "DTNN", "SchNet", "collate", "load", "save", "scale"]
