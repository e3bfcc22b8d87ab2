"""What the training studies (learning curve, variants, tuning) share: a run in this process, a
CSV row, a lock on the CSV's folder."""

from __future__ import annotations

import argparse
import fcntl
import json
import os
from contextlib import contextmanager
from pathlib import Path

from ..train.run import add_train_arguments, run


def train_in_process(options: list[str]) -> dict:
    """``python -m minischnet train <options>`` in this process; returns the run's result.json."""
    run(add_train_arguments(argparse.ArgumentParser()).parse_args(options), ["train", *options])
    return json.loads((Path(options[options.index("--run-dir") + 1]) / "result.json").read_text())


def qm9_energy_options(**options) -> list[str]:
    """Command-line options of a QM9 U0 run with the learning curve's recipe: energies only,
    batch 32, lr 1e-3 halved after 10 epochs without improvement, stop after 30.

    ``options`` add to or override the recipe, in order: ``n_train=1000`` -> ``--n-train 1000``.
    """
    recipe = dict(
        data="qm9",
        run_dir=None,
        model="schnet",
        interactions=3,
        features=64,
        n_train=None,
        n_val=1000,
        rho="inf",
        batch_size=32,
        lr="1e-3",
        lr_patience=10,
        early_stopping=30,
    )
    recipe.update(options)
    missing = [k for k, v in recipe.items() if v is None]
    if missing:
        raise ValueError(f"qm9_energy_options needs {missing}")
    return [word for k, v in recipe.items() for word in (f"--{k.replace('_', '-')}", str(v))]


def slug(name: str) -> str:
    """A setting's name as part of a run folder's name: "lr 3e-4" -> "lr_3e_4"."""
    return "".join(c if c.isalnum() else "_" for c in name).strip("_").lower()


def result_row(result: dict) -> dict:
    """The CSV columns every study records about one run."""
    return dict(
        test_mae_eV=f"{result['test_energy_mae']:.5f}",
        epochs=result["epochs"],
        finished=result["finished"],
        wall_seconds=f"{result['wall_seconds_total']:.0f}",
        machine=result["machine"],
        command=result["command"],
    )


@contextmanager
def locked(folder: Path):
    """Hold an exclusive lock on ``folder``: runners started side by side (one per model, or one
    per seed) share one --out, and a read-modify-write of its CSV must not lose another runner's
    row."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
