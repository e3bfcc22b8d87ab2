"""Training: loss (6), the trainer with exact resume, the output scale; one run as the CLI runs
it."""

from .loss import energy_force_loss, loss_per_structure
from .standardize import fit_output_scale
from .trainer import History, TrainConfig, Trainer, evaluate

__all__ = [
    "History",
    "TrainConfig",
    "Trainer",
    "energy_force_loss",
    "evaluate",
    "fit_output_scale",
    "loss_per_structure",
]
