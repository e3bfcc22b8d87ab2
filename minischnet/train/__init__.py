"""Training: loss (6), the trainer with exact resume, model files."""

from .checkpoint import load, load_checkpoint, save
from .loss import energy_force_loss
from .standardize import fit_output_scale
from .trainer import History, TrainConfig, Trainer, evaluate

__all__ = ["History", "TrainConfig", "Trainer", "energy_force_loss", "evaluate", "fit_output_scale", "load", "load_checkpoint", "save"]
