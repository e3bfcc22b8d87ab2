"""What the training studies (learning curve, variants) share: a run in this process, a CSV row."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..train.run import add_train_arguments, run


def train_in_process(options: list[str]) -> dict:
    """``python -m minischnet train <options>`` in this process; returns the run's result.json."""
    run(add_train_arguments(argparse.ArgumentParser()).parse_args(options), ["train", *options])
    return json.loads((Path(options[options.index("--run-dir") + 1]) / "result.json").read_text())


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
