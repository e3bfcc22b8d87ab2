"""The command line: ``python -m minischnet train ...`` (or the ``minischnet`` console script).

    python -m minischnet train --data c20 --run-dir runs/c20  # energies + forces, rho 0.1
    python -m minischnet train --data qm9 --n-train 25000 --features 64 --run-dir runs/qm9
    python -m minischnet train --data my_dft.extxyz --run-dir runs/mine  # any file ASE reads
    torchrun --nproc_per_node=2 -m minischnet train ...  # data-parallel
    python -m minischnet ship runs/c20 data/models/c20_schnet.pt  # a run's model, for others
    python -m minischnet models   # the shipped models, their test errors, where data are found
    python -m minischnet tutorials minischnet-tutorials   # copy the notebooks out (a handout)

A run directory holds checkpoint.pt (resume: run the same command again), best.pt, history.json,
model.pt (the best model, with its hyperparameters, command, split and test errors) and
result.json. On a shared 2-core machine set OMP_NUM_THREADS=1 when anything else runs: two
torch threads fighting another process for the cores run 10-20x slower.

The CLI keeps freed memory in the process (``minischnet.keep_freed_memory``: 2x faster small
batches on the CPU); MINISCHNET_KEEP_MALLOC=1 leaves malloc as it is. The library never imports
this module.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from ._malloc import keep_freed_memory
from .resources import copy_tutorials, models_table, search_path
from .train.run import FlagError, add_train_arguments, run, ship


class _Help(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """--help keeps the layout of the description and shows every option's default.

    Options whose default is None say in their own help what None means.
    """

    def _get_help_string(self, action):
        if action.default is None or action.required or isinstance(action.default, bool):
            return action.help
        return super()._get_help_string(action)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="minischnet", description=__doc__, formatter_class=_Help)
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser(
        "train", help="train a model on energies (and forces), loss (6)", formatter_class=_Help
    )
    add_train_arguments(train)
    train.add_argument(
        "--plot", action="store_true", help="write history.png (validation MAE and lr per epoch)"
    )
    s = sub.add_parser(
        "ship",
        help="copy a finished run's model.pt to a model file with a JSON description beside it",
        formatter_class=_Help,
    )
    s.add_argument("run_dir")
    s.add_argument(
        "path",
        help="where the model goes, e.g. data/models/c20_schnet.pt (the .json goes beside it)",
    )
    s.add_argument(
        "--note",
        default=None,
        help="a sentence for the description (what this model is, what it is not)",
    )
    sub.add_parser(
        "models",
        help="list the shipped models (minischnet.load(name)) and the folders data are read from",
        formatter_class=_Help,
    )
    t = sub.add_parser(
        "tutorials",
        help="copy the tutorial notebooks into a folder; notebooks already there are kept",
        formatter_class=_Help,
    )
    t.add_argument("folder", nargs="?", default="minischnet-tutorials")
    args = parser.parse_args(argv)
    if args.command == "tutorials":
        copied, kept = copy_tutorials(args.folder)
        print(f"copied {len(copied)} files into {args.folder}/", end="")
        print(
            f"; kept {len(kept)} already there: {', '.join(k.name for k in kept)}" if kept else ""
        )
        print(f"then: jupyter lab {args.folder}/")
        return
    if args.command == "models":
        print(models_table())
        print("data are read from (first match wins):", *search_path(), sep="\n  ")
        return
    keep_freed_memory()
    if args.command == "train":
        try:
            run(args, argv)
        except FlagError as e:  # an option the data cannot satisfy: nothing was trained
            train.error(str(e))
        if args.plot and int(os.environ.get("RANK", "0")) == 0:
            plot_history(Path(args.run_dir))
    elif args.command == "ship":
        try:
            ship(args.run_dir, args.path, args.note)
        except (FileNotFoundError, FileExistsError) as e:  # nothing was written
            s.error(str(e))


def plot_history(run_dir: Path) -> None:
    """run_dir/history.png from run_dir/history.json."""
    import matplotlib

    matplotlib.use("Agg")
    from .figures import history_figure
    from .train import History

    history = History(**json.loads((run_dir / "history.json").read_text()))
    history_figure(history, run_dir / "history.png")


if __name__ == "__main__":
    main()
