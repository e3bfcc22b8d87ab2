"""How well each trained model fits its own training molecules, beside how well it predicts new
ones: the gap between training and test error that decides the learning curve at small N.

    python -m minischnet.studies.fit_gap --out data/results/learning_curve/fit_gap.csv \\
        data/results/learning_curve/runs/*_N1000_seed* data/results/small_n_tuning/runs/*

For each QM9 run folder given (one with ``model.pt`` and ``result.json``), the run's own split is
rebuilt from its recorded options (the same ``--n-train``, ``--n-val``, ``--draw-seed``), and its
model is evaluated on its training and validation molecules; the test MAE is the one the run
recorded. One CSV row per run, with the number of parameters. A model that fits its training
molecules far better than the test molecules is limited by the data, not by what it can express.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..nn.registry import load
from ..results import write_csv
from ..train import evaluate
from ..train.run import add_train_arguments, dataset_and_split

FIELDS = [
    "run",
    "model",
    "T",
    "features",
    "batch_size",
    "lr",
    "N",
    "seed",
    "parameters",
    "train_mae_eV",
    "val_mae_eV",
    "test_mae_eV",
]


def fit_errors(run_dir: Path) -> dict:
    """One row of the table for a finished QM9 run folder (see the module's docstring)."""
    result = json.loads((run_dir / "result.json").read_text())
    options = result["hyperparameters"]
    if options["data"] != "qm9":
        raise ValueError(f"{run_dir} trained on {options['data']!r}; fit_gap reads QM9 runs")
    words = ["--data", "qm9", "--run-dir", str(run_dir)]
    for flag in ("n_train", "n_val", "draw_seed"):
        if options.get(flag) is not None:
            words += [f"--{flag.replace('_', '-')}", str(options[flag])]
    dataset, train, val, _ = dataset_and_split(
        add_train_arguments(argparse.ArgumentParser()).parse_args(words)
    )
    model = load(run_dir / "model.pt")
    return dict(
        run=run_dir.name,
        model=options["model"],
        T=options["interactions"],
        features=options["features"],
        batch_size=options["batch_size"],
        lr=options["lr"],
        N=len(train),
        seed=options["seed"],
        parameters=sum(p.numel() for p in model.parameters()),
        train_mae_eV=f"{evaluate(model, dataset, train, forces=False)['energy_mae']:.5f}",
        val_mae_eV=f"{evaluate(model, dataset, val, forces=False)['energy_mae']:.5f}",
        test_mae_eV=f"{result['test_energy_mae']:.5f}",
    )


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="the CSV to write")
    parser.add_argument("runs", nargs="+", type=Path, help="finished QM9 run folders")
    args = parser.parse_args(argv)
    rows = []
    for run_dir in args.runs:
        if not (run_dir / "model.pt").exists():
            print(f"skipped {run_dir}: no model.pt (not finished, or not shipped)")
            continue
        rows.append(fit_errors(run_dir))
        r = rows[-1]
        print(
            f"{r['run']:>32}: train {r['train_mae_eV']}, val {r['val_mae_eV']}, "
            f"test {r['test_mae_eV']} eV"
        )
    write_csv(args.out, FIELDS, rows)


if __name__ == "__main__":
    main()
