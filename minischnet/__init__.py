"""minischnet: DTNN and SchNet, written twice — a NumPy/autograd reference and a PyTorch twin.

    minischnet.reference      equations (1)-(6), NumPy + autograd, float64: read it next to
                              the paper
    minischnet.SchNet, DTNN   the same functions as torch modules, batched, CPU or CUDA
    minischnet.collate        ase.Atoms -> Batch (flat atoms, flat pair lists, structure index)
    minischnet.Calculator     an ASE calculator around any model
    minischnet.load(name)     a shipped model by name ("qm9_schnet"; shipped_models() lists them)

Units: Å, eV, eV/Å everywhere; conversions only at the edges.

Importing minischnet changes nothing process-wide. ``minischnet.keep_freed_memory()`` (called by
the CLI, the MD driver and the benchmarks) makes glibc keep freed memory for reuse, which makes
small CPU batches about 2x faster; call it yourself in a script or notebook that wants that.
"""

from ._malloc import keep_freed_memory
from ._scale import scale
from .calculator import Calculator
from .data.batch import Batch, collate
from .nn import DTNN, SchNet, load, save
from .resources import shipped_models

__version__ = "0.1.0"

__all__ = [
    "Batch",
    "Calculator",
    "DTNN",
    "SchNet",
    "collate",
    "keep_freed_memory",
    "load",
    "save",
    "scale",
    "shipped_models",
]
