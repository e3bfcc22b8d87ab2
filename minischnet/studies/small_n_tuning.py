"""Is the learning curve's recipe what holds SchNet back at small N? The same settings tuned for
both models, chosen on validation data only.

    python -m minischnet.studies.small_n_tuning --out data/results/small_n_tuning

The learning curve (Fig. 6 left) trains every model at every N with one recipe: 64 features,
batch 32, learning rate 1e-3 halved after 10 epochs without improvement, stop after 30. At
N = 1,000 SchNet is then not below DTNN. This study changes one setting of that recipe at a time
(the settings the published models chose: batch size, learning rate, features), trains DTNN and
SchNet with T = 3 on the same 1,000 QM9 molecules (U0) with each, and records the best
validation MAE (on the learning curve's 1,000 validation molecules) beside the test MAE. A setting
is chosen for a model by its validation MAE alone (``results.tuning_summary``); the test MAE is
only read for the chosen one. Resumable like the learning curve.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..results import read_rows as read_csv
from ..results import tuning_summary, write_csv
from ._runs import locked, qm9_energy_options, result_row, slug, train_in_process

#: name -> what it changes in the learning curve's recipe (``qm9_energy_options``)
SETTINGS = {
    "recipe": {},
    "batch 8": {"batch_size": 8},
    "lr 3e-4": {"lr": "3e-4"},
    "F 32": {"features": 32},
    "F 128": {"features": 128},
}
FIELDS = [
    "model",
    "setting",
    "seed",
    "val_mae_eV",
    "test_mae_eV",
    "epochs",
    "finished",
    "wall_seconds",
    "machine",
    "command",
]


def run_name(model: str, setting: str, seed: int) -> str:
    return f"{model}_{slug(setting)}_seed{seed}"


def read_rows(path: Path) -> dict:
    """The rows of the tuning CSV by (model, setting, seed); {} before the first run."""
    return {(r["model"], r["setting"], r["seed"]): r for r in read_csv(path)}


def write_rows(path: Path, rows: dict) -> None:
    order = list(SETTINGS)
    keys = sorted(
        rows,
        key=lambda k: (k[0], order.index(k[1]) if k[1] in order else len(order), int(k[2])),
    )
    write_csv(path, FIELDS, [rows[k] for k in keys])


def best_validation_mae(run_dir: Path) -> float:
    """The lowest validation MAE of a run: the epoch whose weights the run saved as its model."""
    return min(json.loads((run_dir / "history.json").read_text())["val_energy_mae"])


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("data/results/small_n_tuning"))
    parser.add_argument("--models", nargs="+", default=["dtnn", "schnet"])
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--n-train", type=int, default=1000)
    parser.add_argument("--interactions", type=int, default=3)
    parser.add_argument("--hours-per-run", type=float, default=1.0)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    csv_path = args.out / "tuning.csv"
    for seed in args.seeds:
        for setting in args.settings:
            for model in args.models:
                key = (model, setting, str(seed))
                if read_rows(csv_path).get(key, {}).get("finished") == "True":
                    continue
                run_dir = args.out / "runs" / run_name(model, setting, seed)
                options = qm9_energy_options(
                    run_dir=run_dir,
                    model=model,
                    interactions=args.interactions,
                    n_train=args.n_train,
                    max_hours=args.hours_per_run,
                    device=args.device,
                    **SETTINGS[setting],
                )
                if seed:  # like the learning curve: seed s draws its own N molecules
                    options += ["--seed", str(seed), "--draw-seed", str(seed)]
                result = train_in_process(options)
                with locked(args.out):  # runners side by side (one per seed) share the CSV
                    rows = read_rows(csv_path)
                    rows[key] = dict(
                        model=model,
                        setting=setting,
                        seed=seed,
                        val_mae_eV=f"{best_validation_mae(run_dir):.5f}",
                        **result_row(result),
                    )
                    write_rows(csv_path, rows)
    for model, summary in tuning_summary(csv_path).items():
        for setting, s in summary["settings"].items():
            mark = "  <- chosen" if setting == summary["chosen"] else ""
            print(
                f"{model:>6} {setting:>8}: validation {s['val']:.4f} eV, "
                f"test {s['test']:.4f} eV ({s['seeds']} seeds){mark}"
            )


if __name__ == "__main__":
    main()
