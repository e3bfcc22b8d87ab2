"""One training run as the command line describes it: data and split, model, trainer, results.

``python -m minischnet train`` and the learning-curve runner both call ``run``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
from ase.data import chemical_symbols

from .._atomic import atomic_write
from .checkpoint import load_checkpoint, save
from .trainer import TrainConfig, Trainer, evaluate


def add_train_arguments(t):
    t.add_argument("--data", required=True, help="qm9, c20, materials, or a file ASE reads (extxyz, db, ...) with energies")
    t.add_argument("--run-dir", required=True, help="checkpoints, history and the final model go here")
    t.add_argument("--model", choices=["schnet", "dtnn"], default="schnet")
    t.add_argument("--features", type=int, default=64)
    t.add_argument("--interactions", type=int, default=3)
    t.add_argument("--rbf", type=int, default=25)
    t.add_argument("--cutoff", type=float, default=5.0)
    t.add_argument("--factors", type=int, default=None, help="DTNN factor space (default: --features)")
    t.add_argument("--rho", type=float, default=0.01, help="energy weight in (6); 'inf' trains on energies alone")
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--epochs", type=int, default=1000, help="at most this many epochs")
    t.add_argument("--lr-patience", type=int, default=10)
    t.add_argument("--early-stopping", type=int, default=30)
    t.add_argument("--ema", type=float, default=0.0,
                   help="moving average of the weights, e.g. 0.999; validation and the saved model use it (0: off)")
    t.add_argument("--atomref", choices=["fit", "free", "none"], default="fit",
                   help="element references subtracted before the per-atom mean/std: least squares on the training "
                        "split, the free-atom energies (QM9: the network learns atomization energies), or none")
    t.add_argument("--max-hours", type=float, default=math.inf, help="stop after this wall time; run again to resume")
    t.add_argument("--n-train", type=int, default=None, help="training structures (QM9: the nested subset of this size)")
    t.add_argument("--n-val", type=int, default=None)
    t.add_argument("--test-fraction", type=float, default=0.1, help="for a user's file: held-out share")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="auto", help="cpu, cuda, cuda:1 or auto")
    t.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    v = t.add_argument_group("SchNet implementation choices (tutorial 4; defaults are the thesis's)")
    v.add_argument("--rbf-width", type=float, default=None, help="Gaussian width in Å (default: their spacing)")
    v.add_argument("--no-cosine-cutoff", action="store_true", help="hard cut of the filters at r_c")
    v.add_argument("--no-filter-activation", action="store_true", help="no ssp after the filter network's 2nd layer")
    v.add_argument("--output-activation", choices=["ssp", "silu", "tanh"], default="ssp")
    t.add_argument("--plot", action="store_true", help="write history.png (validation MAE and learning rate per epoch)")
    return t


def dataset_and_split(args):
    """(dataset, train, validation, test) positions for --data."""
    from .. import data

    rng = np.random.default_rng(args.seed)
    if args.data == "qm9":
        ds = data.qm9()
        train = data.qm9_split("train", args.n_train)
        val = data.qm9_split("validation", args.n_val)
        test = data.qm9_split("test")
        return ds, train, val, test
    if args.data == "c20":
        train_set, test_set = data.c20("train"), data.c20("test")
        n = len(train_set)
        perm = rng.permutation(n)
        n_val = args.n_val or n // 20
        n_train = min(args.n_train or n - n_val, n - n_val)
        both = data.AtomsDataset(
            np.concatenate([train_set.Z, test_set.Z]), np.concatenate([train_set.R, test_set.R]),
            np.concatenate([train_set.start, train_set.start[-1] + test_set.start[1:]]),
            np.concatenate([train_set.energy, test_set.energy]), np.concatenate([train_set.forces, test_set.forces]),
            name="C20 GFN2-xTB",
        )
        return both, perm[n_val : n_val + n_train], perm[:n_val], np.arange(n, n + len(test_set))
    ds = data.materials() if args.data == "materials" else data.AtomsDataset.read(args.data, require_energy=True)
    perm = rng.permutation(len(ds))
    n_test = int(round(args.test_fraction * len(ds)))
    n_val = args.n_val or max(1, int(round(0.05 * len(ds))))
    rest = perm[n_test + n_val :]
    return ds, rest[: args.n_train] if args.n_train else rest, perm[n_test : n_test + n_val], perm[:n_test]


def build_model(args):
    from ..nn import DTNN, SchNet

    common = dict(n_features=args.features, n_interactions=args.interactions, n_rbf=args.rbf, cutoff=args.cutoff)
    variant = dict(rbf_width=args.rbf_width, cosine_cutoff=not args.no_cosine_cutoff,
                   filter_activation=not args.no_filter_activation, output_activation=args.output_activation)
    if args.model == "dtnn":
        if variant != SchNet.VARIANT_DEFAULTS:
            raise ValueError("the SchNet implementation choices (--rbf-width, --no-cosine-cutoff, ...) do not apply to DTNN")
        return DTNN(**common, n_factors=args.factors).to(getattr(torch, args.dtype))
    model = SchNet(**common, **variant)
    return model.to(getattr(torch, args.dtype))


def run(args, argv=None):
    """One training run from parsed ``add_train_arguments`` options; ``argv`` is recorded as its command."""

    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else torch.device(args.device)
    if distributed:
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    rank = torch.distributed.get_rank() if distributed else 0
    torch.manual_seed(args.seed)
    ds, train, val, test = dataset_and_split(args)
    model = build_model(args).to(device)
    config = TrainConfig(
        rho=args.rho, lr=args.lr, batch_size=args.batch_size, max_epochs=args.epochs, lr_patience=args.lr_patience,
        early_stopping=args.early_stopping, seed=args.seed, max_seconds=args.max_hours * 3600,
        ema_decay=args.ema, atomref=args.atomref,
    )
    run_dir = Path(args.run_dir)
    command = "python -m minischnet " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    start = time.time()
    trainer = Trainer(model, ds, train, val, config, run_dir, distributed=distributed)
    first_epoch = trainer.epoch
    history = trainer.fit()
    if rank == 0:
        with atomic_write(run_dir / "history.json", "w") as f:
            json.dump(history.__dict__, f, indent=1)
        load_checkpoint(run_dir / "best.pt", model)
        errors = evaluate(model, ds, test, forces=ds.forces is not None)
        result = dict(
            data=args.data, architecture=args.model, n_train=len(train), n_val=len(val), n_test=len(test),
            test_energy_mae=errors["energy_mae"], test_energy_mae_per_atom=errors["energy_mae_per_atom"],
            test_force_mae=errors.get("force_mae"),
            epochs=trainer.epoch, finished=trainer.finished, wall_seconds_this_call=time.time() - start,
            wall_seconds_total=float(np.sum(history.seconds)), device=str(device),
            machine=f"{platform.machine()}, {os.cpu_count()} cores" + (f", {torch.cuda.get_device_name(device)}" if device.type == "cuda" else ""),
            torch=torch.__version__, command=command, hyperparameters=vars(args),
            elements=[chemical_symbols[z] for z in np.unique(ds.Z)],
        )
        if trainer.epoch == first_epoch and (run_dir / "result.json").exists():
            # this call trained nothing (e.g. --max-hours 0): the model was trained by the earlier command
            result["rewritten_by"] = command
            result["command"] = json.loads((run_dir / "result.json").read_text())["command"]
        save(model, run_dir / "model.pt", **{k: v for k, v in result.items() if k != "hyperparameters"}, split=dict(
            train=np.asarray(train).tolist() if args.data != "qm9" else f"qm9_split('train', {len(train)})",
            test="qm9_split('test')" if args.data == "qm9" else np.asarray(test).tolist()))
        with atomic_write(run_dir / "result.json", "w") as f:  # learning-curve runners read it
            json.dump(result, f, indent=1)
        if args.plot:
            import matplotlib

            matplotlib.use("Agg")
            from ..figures import history_figure

            history_figure(history, run_dir / "history.png")
        print(json.dumps({k: result[k] for k in ("test_energy_mae", "test_force_mae", "epochs", "finished")}))
    if distributed:
        torch.distributed.destroy_process_group()


def ship(run_dir, path, note=None) -> dict:
    """Copy ``run_dir/model.pt`` (written when a run stops) to ``path``, plus ``path.json`` describing it.

    The JSON holds what ``minischnet.load(path).info`` holds (hyperparameters, training command,
    split, test errors, epochs, wall time, machine), readable without torch.
    """
    from .checkpoint import load

    source = Path(run_dir) / "model.pt"
    if not source.exists():
        raise FileNotFoundError(f"{source} is missing: run the training command again (--max-hours 0 writes it from best.pt)")
    model = load(source)
    info = {k: v for k, v in model.info.items() if k not in ("kind", "dtype", "hyperparameters")}
    if note:
        info["note"] = note
    path = Path(path)
    save(model, path, **info)
    description = dict(load(path).info)
    split = description.get("split")
    if isinstance(split, dict) and not all(isinstance(v, str) for v in split.values()):
        description["split"] = {k: v if isinstance(v, str) else f"{len(v)} indices, in the .pt file: minischnet.load(path).info['split']['{k}']"
                                for k, v in split.items()}
    path.with_suffix(".json").write_text(json.dumps(description, indent=1, default=str))
    return description


# -- for the experiment runners (learning_curve.py, variants.py) -------------------------------

def train_in_process(options: list[str]) -> dict:
    """``python -m minischnet train <options>`` in this process; returns the run's result.json."""
    run(add_train_arguments(argparse.ArgumentParser()).parse_args(options), ["train", *options])
    return json.loads((Path(options[options.index("--run-dir") + 1]) / "result.json").read_text())


def result_row(result: dict) -> dict:
    """The CSV columns every experiment records about one run."""
    return dict(test_mae_eV=f"{result['test_energy_mae']:.5f}", epochs=result["epochs"], finished=result["finished"],
                wall_seconds=f"{result['wall_seconds_total']:.0f}", machine=result["machine"], command=result["command"])


def write_csv(path: Path, fields: list[str], rows) -> None:
    """Rows (dicts, in order) to ``path`` atomically: a crash leaves the previous file."""
    import csv

    with atomic_write(path, "w") as f:
        writer = csv.DictWriter(f, fields)
        writer.writeheader()
        writer.writerows(rows)
