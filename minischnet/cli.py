"""The command line: ``python -m minischnet train ...`` (or the ``minischnet`` console script).

    python -m minischnet train --data c20 --rho 0.01 --run-dir runs/c20
    python -m minischnet train --data qm9 --n-train 25000 --rho inf --interactions 3 --run-dir runs/qm9
    python -m minischnet train --data my_dft.extxyz --run-dir runs/mine        # any file ASE reads
    torchrun --nproc_per_node=2 -m minischnet train ...                        # data-parallel
    python -m minischnet ship runs/c20 data/models/c20_schnet.pt              # a run's model, for others

A run directory holds checkpoint.pt (resume: run the same command again), best.pt, history.json,
model.pt (the best model, with its hyperparameters, command, split and test errors) and
result.json. Nothing imports this module: it only calls the package.
"""

from __future__ import annotations

import argparse

from .train.run import add_train_arguments, run, ship


def main(argv=None):
    parser = argparse.ArgumentParser(prog="minischnet", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    add_train_arguments(sub.add_parser("train", help="train a model on energies (and forces), loss (6)"))
    s = sub.add_parser("ship", help="copy a finished run's model.pt to a model file with a JSON description beside it")
    s.add_argument("run_dir")
    s.add_argument("path", help="where the model goes, e.g. data/models/c20_schnet.pt (the .json goes beside it)")
    s.add_argument("--note", default=None, help="a sentence for the description (what this model is, what it is not)")
    args = parser.parse_args(argv)
    if args.command == "train":
        run(args, argv)
    elif args.command == "ship":
        ship(args.run_dir, args.path, args.note)


if __name__ == "__main__":
    main()
