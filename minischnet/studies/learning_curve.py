"""The learning curve of Fig. 6 (left): test MAE of U0 on QM9 against the number of training
molecules.

    python -m minischnet.studies.learning_curve --out data/results/learning_curve
        [--hours-per-run 1]

Trains DTNN and SchNet with T = 1, 2, 3 interaction blocks at N = 1,000 ... 25,000 (add larger N
with --sizes on a GPU), energy only (U0), on the fixed split; evaluates each on the fixed QM9
test set and appends one row per finished run to learning_curve.csv (model, T, N, seed, test
MAE, epochs, wall time, device, command). Resumable: a finished run is skipped, an unfinished
one resumes from its checkpoint; a run stopped by its time budget is recorded with
finished=False.

``--seeds 0 1 2`` repeats each point: seed 0 trains on the nested subset (the first N
molecules of the training split) with initial weights from seed 0; seed s > 0 on its own
random draw of N molecules (``--draw-seed s``) with initial weights and batch order from s.
The validation and test molecules are the same for every seed.

``--energy-loss absolute`` trains the same points on ``|E - Ê|`` instead of the squared error of
loss (6), into another --out (the runs of data/results/energy_loss, SchNet T = 3 at N = 5,000
over three seeds, compared with the squared-error runs by ``results.energy_loss_comparison``):

    python -m minischnet.studies.learning_curve --out data/results/energy_loss --models schnet \
        --interactions 3 --sizes 5000 --seeds 0 1 2 --energy-loss absolute
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..results import read_rows, write_csv
from ..train.loss import ENERGY_ERRORS
from ._runs import locked, qm9_energy_options, result_row, train_in_process

FIELDS = [
    "model",
    "T",
    "N",
    "seed",
    "test_mae_eV",
    "epochs",
    "finished",
    "wall_seconds",
    "device",
    "machine",
    "command",
]


def run_name(model, T, N, seed=0):
    return f"{model}_T{T}_N{N}" + (f"_seed{seed}" if int(seed) else "")


def recorded(csv_path: Path) -> dict:
    """The rows of the learning-curve CSV by run name; {} before the first run. Rows written
    before the seed column are seed 0."""
    rows = read_rows(csv_path)
    for r in rows:
        r["seed"] = r.get("seed") or "0"
    return {run_name(r["model"], r["T"], r["N"], r["seed"]): r for r in rows}


def write_rows(csv_path: Path, rows: dict) -> None:
    order = sorted(
        rows,
        key=lambda k: (
            int(rows[k]["N"]),
            rows[k]["model"],
            int(rows[k]["T"]),
            int(rows[k].get("seed") or 0),
        ),
    )
    write_csv(csv_path, FIELDS, [rows[k] for k in order])


def record_row(csv_path: Path, name: str, row: dict) -> None:
    """Set ``name``'s row in the CSV, keeping every other row, also with other runners writing."""
    with locked(csv_path.parent):
        rows = recorded(csv_path)
        rows[name] = row
        write_rows(csv_path, rows)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("data/results/learning_curve"))
    parser.add_argument("--models", nargs="+", default=["schnet", "dtnn"])
    parser.add_argument("--interactions", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--sizes", nargs="+", type=int, default=[1000, 2000, 5000, 10000, 25000])
    parser.add_argument(
        "--seeds", nargs="+", type=int, default=[0], help="repeats of each point (see above)"
    )
    parser.add_argument(
        "--hours-per-run", type=float, default=1.0, help="wall-time budget of one call per run"
    )
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--n-val", type=int, default=1000)
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--energy-loss",
        choices=ENERGY_ERRORS,
        default="squared",
        help="the energy term of the loss (train's --energy-loss); give absolute another --out",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    csv_path = args.out / "learning_curve.csv"
    for seed in args.seeds:
        for N in args.sizes:
            for model in args.models:
                for T in args.interactions:
                    name = run_name(model, T, N, seed)
                    rows = recorded(csv_path)
                    if name in rows and rows[name]["finished"] == "True":
                        continue
                    run_dir = args.out / "runs" / name
                    # the default (squared) is left out of the command, as the learning curve's
                    # runs were made without the flag
                    loss = {} if args.energy_loss == "squared" else {"energy_loss": "absolute"}
                    options = qm9_energy_options(
                        run_dir=run_dir,
                        model=model,
                        interactions=T,
                        features=args.features,
                        n_train=N,
                        n_val=args.n_val,
                        **loss,
                        max_hours=args.hours_per_run,
                        device=args.device,
                    )
                    if seed:
                        options += ["--seed", str(seed), "--draw-seed", str(seed)]
                    result = train_in_process(options)
                    record_row(
                        csv_path,
                        name,
                        dict(
                            model=model,
                            T=T,
                            N=N,
                            seed=seed,
                            device=result["device"],
                            **result_row(result),
                        ),  # fmt: skip
                    )
    if len({int(r["N"]) for r in recorded(csv_path).values()}) < 2:
        return  # one size is a point, not a curve: results.energy_loss_comparison reads it
    import matplotlib

    matplotlib.use("Agg")
    from ..figures import learning_curve_figure

    with locked(args.out):
        learning_curve_figure(csv_path, args.out / "learning_curve.png")


if __name__ == "__main__":
    main()
