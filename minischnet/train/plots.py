"""Plots of training: the learning curve of a run (validation MAE per epoch)."""

from __future__ import annotations


def plot_history(history, path=None):
    """Validation energy (and force) MAE and the learning rate per epoch; saved to ``path`` if given."""
    import matplotlib

    if path is not None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.semilogy(history.epoch, history.val_energy_mae, label="validation energy MAE (eV)")
    if any(v == v for v in history.val_force_mae):  # not all NaN
        ax.semilogy(history.epoch, history.val_force_mae, label="validation force MAE (eV/Å)")
    ax.set_xlabel("epoch")
    ax2 = ax.twinx()
    ax2.semilogy(history.epoch, history.lr, color="gray", ls=":", label="learning rate")
    ax2.set_ylabel("learning rate")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return fig
