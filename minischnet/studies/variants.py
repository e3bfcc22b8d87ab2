"""SchNet's implementation choices, measured: the same small QM9 run with each switch flipped.

    python -m minischnet.studies.variants --out data/results/schnet_variants

Published SchNet codes differ in the radial-basis width, the cosine cutoff, an activation after
the filter network's second layer and the read-out activation (``minischnet.nn.schnet``). Each
variant trains the same SchNet (T = 2, 64 features) on the same 1,000 QM9 molecules (U0) for the
same number of epochs, with several seeds (the spread between seeds is the noise against which a
difference means something); one CSV row per run with its test MAE on the fixed QM9 test set.
Resumable like the learning curve: finished runs are skipped, unfinished ones resume.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..results import read_rows as read_csv
from ..results import variants_summary, write_csv
from ._runs import qm9_energy_options, result_row, slug, train_in_process

#: name -> command-line switches (the thesis's choices first)
VARIANTS = {
    "thesis (defaults)": [],
    "wide Gaussians (0.5 Å)": ["--rbf-width", "0.5"],
    "narrow Gaussians (0.1 Å)": ["--rbf-width", "0.1"],
    "no cosine cutoff": ["--no-cosine-cutoff"],
    "no ssp after filter layer 2": ["--no-filter-activation"],
    "read-out SiLU": ["--output-activation", "silu"],
    "read-out tanh": ["--output-activation", "tanh"],
}
FIELDS = [
    "variant",
    "seed",
    "test_mae_eV",
    "epochs",
    "finished",
    "wall_seconds",
    "machine",
    "command",
]


def read_rows(path: Path) -> dict:
    """The rows of the variants CSV by (variant, seed); {} before the first run."""
    return {(r["variant"], r["seed"]): r for r in read_csv(path)}


def write_rows(path: Path, rows: dict) -> None:
    order = list(VARIANTS)
    keys = sorted(
        rows, key=lambda k: (order.index(k[0]) if k[0] in order else len(order), int(k[1]))
    )
    write_csv(path, FIELDS, [rows[k] for k in keys])


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("data/results/schnet_variants"))
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--n-train", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--interactions", type=int, default=2)
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    csv_path = args.out / "variants.csv"
    for seed in args.seeds:
        for name in args.variants:
            if read_rows(csv_path).get((name, str(seed)), {}).get("finished") == "True":
                continue
            run_dir = args.out / "runs" / f"{slug(name)}_seed{seed}"
            options = (
                qm9_energy_options(
                    run_dir=run_dir,
                    interactions=args.interactions,
                    features=args.features,
                    n_train=args.n_train,
                    early_stopping=args.epochs,
                    epochs=args.epochs,
                    seed=seed,
                    device=args.device,
                )
                + VARIANTS[name]
            )
            result = train_in_process(options)
            rows = read_rows(csv_path)
            rows[(name, str(seed))] = dict(variant=name, seed=seed, **result_row(result))
            write_rows(csv_path, rows)
    for variant, (mean, std, n) in variants_summary(csv_path).items():
        print(f"{variant:>30}: {mean:.4f} ± {std:.4f} eV ({n} seeds)")


if __name__ == "__main__":
    main()
