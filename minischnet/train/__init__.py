"""Training: the energy-force loss (6). The trainer, checkpoints and learning curves follow."""

from .loss import energy_force_loss

__all__ = ["energy_force_loss"]
