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
from ..nn.registry import MODEL_CLASSES, load, load_checkpoint, save
from .loss import ENERGY_ERRORS
from .trainer import DEFAULT_RHO, TrainConfig, Trainer, evaluate


class FlagError(ValueError):
    """A command-line option that the data cannot satisfy (the CLI reports it and exits 2)."""


def _number(kind, low=None, high=None, low_open=False, high_open=False, allow_inf=False):
    """An argparse type: ``kind`` (int or float) within [low, high] (open where asked), finite
    unless ``allow_inf``; anything else is a one-line usage error."""

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a{'n integer' if kind is int else ' number'}"
            ) from None
        if math.isnan(value) or (math.isinf(value) and not allow_inf):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
        too_low = low is not None and (value <= low if low_open else value < low)
        too_high = high is not None and (value >= high if high_open else value > high)
        if too_low or too_high:
            lo = "" if low is None else f"{'>' if low_open else '>='} {low}"
            hi = "" if high is None else f"{'<' if high_open else '<='} {high}"
            raise argparse.ArgumentTypeError(
                f"must be {' and '.join(b for b in (lo, hi) if b)}, got {text}"
            )
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


POSITIVE_INT = _number(int, low=1)
POSITIVE = _number(float, low=0, low_open=True)


def add_train_arguments(t):
    """The options of ``python -m minischnet train`` (``--help`` shows each default)."""
    t.add_argument(
        "--data",
        required=True,
        help="qm9, c20, materials, or a file ASE reads (extxyz, db, ...) with energies",
    )
    t.add_argument(
        "--run-dir", required=True, help="checkpoints, history and the final model go here"
    )
    t.add_argument("--model", choices=sorted(MODEL_CLASSES), default="schnet", help="architecture")
    t.add_argument("--features", type=_number(int, low=2), default=128, help="F, features per atom")
    t.add_argument("--interactions", type=POSITIVE_INT, default=3, help="T, refinement steps (1)")
    t.add_argument(
        "--rbf",
        type=_number(int, low=2),
        default=25,
        help="Gaussians of the radial basis over [0, cutoff]",
    )
    t.add_argument("--cutoff", type=POSITIVE, default=5.0, help="Å")
    t.add_argument(
        "--factors", type=POSITIVE_INT, default=None, help="DTNN factor space (None: --features)"
    )
    t.add_argument(
        "--rho",
        type=_number(float, low=0, low_open=True, allow_inf=True),
        default=None,
        help="weight of the energy term of loss (6), Å^-2; 'inf' trains on energies alone "
        "(None: 0.1 for data with forces, inf for data without)",
    )
    t.add_argument(
        "--energy-loss",
        choices=ENERGY_ERRORS,
        default="squared",
        help="the energy term of the loss: squared as in (6), or the absolute error |E - Ê| that "
        "the MAE measures (energies alone, --rho inf: e.g. to fine-tune a model with --init-from)",
    )
    t.add_argument("--lr", type=POSITIVE, default=1e-3, help="Adam's learning rate at the start")
    t.add_argument("--batch-size", type=POSITIVE_INT, default=32, help="structures per step")
    t.add_argument(
        "--epochs",
        type=POSITIVE_INT,
        default=1000,
        help="at most this many epochs (an epoch of C20, 19,000 structures, 128 features: "
        "about 100 s on 2 CPU cores; of QM9 at N = 110,000, 64 features: about 50 s)",
    )
    t.add_argument(
        "--lr-patience",
        type=_number(int, low=0),
        default=10,
        help="epochs without improvement before lr is halved (a new value on resume applies "
        "from that epoch on)",
    )
    t.add_argument(
        "--early-stopping",
        type=POSITIVE_INT,
        default=30,
        help="epochs without improvement before stopping",
    )
    t.add_argument(
        "--ema",
        type=_number(float, low=0, high=1, high_open=True),
        default=0.0,
        help=(
            "moving average of the weights, e.g. 0.999; "
            "validation and the saved model use it (0: off)"
        ),
    )
    t.add_argument(
        "--atomref",
        choices=["fit", "free", "none"],
        default="fit",
        help=(
            "element references subtracted before the per-atom mean/std: least squares on the "
            "training split, the free-atom energies (QM9: the network learns atomization "
            "energies), or none"
        ),
    )
    t.add_argument(
        "--max-hours",
        type=_number(float, low=0, allow_inf=True),
        default=math.inf,
        help="stop after this wall time; run again to resume",
    )
    t.add_argument(
        "--init-from",
        type=str,
        default=None,
        help="start from this model file's weights and output scale (the architecture flags "
        "must match it) with a fresh optimizer and learning-rate schedule: a warm restart",
    )
    t.add_argument(
        "--n-train",
        type=POSITIVE_INT,
        default=None,
        help="training structures (None: all that are left; QM9: the nested subset of this size)",
    )
    t.add_argument(
        "--draw-seed",
        type=_number(int, low=0),
        default=None,
        help="QM9: draw the --n-train training molecules at random with this seed (None: the "
        "nested subset, the first N of the fixed training split)",
    )
    t.add_argument(
        "--n-val",
        type=POSITIVE_INT,
        default=None,
        help="validation structures (None: 5 %% of the data; QM9 all)",
    )
    t.add_argument(
        "--test-fraction",
        type=_number(float, low=0, high=1, high_open=True),
        default=0.1,
        help="for materials and a user's file: the held-out share",
    )
    t.add_argument(
        "--seed",
        type=_number(int, low=0),
        default=0,
        help="initial weights, split of a file, order of the batches",
    )
    t.add_argument("--device", type=_device, default="auto", help="cpu, cuda, cuda:1 or auto")
    t.add_argument(
        "--dtype",
        choices=["float32", "float64"],
        default="float32",
        help="of weights and arithmetic",
    )
    v = t.add_argument_group(
        "SchNet implementation choices (tutorial 4; defaults are the thesis's)"
    )
    v.add_argument(
        "--rbf-width", type=POSITIVE, default=None, help="Gaussian width in Å (None: their spacing)"
    )
    v.add_argument("--no-cosine-cutoff", action="store_true", help="hard cut of the filters at r_c")
    v.add_argument(
        "--no-filter-activation",
        action="store_true",
        help="no ssp after the filter network's 2nd layer",
    )
    v.add_argument(
        "--output-activation",
        choices=["ssp", "silu", "tanh"],
        default="ssp",
        help="activation of the read-out network",
    )
    return t


def dataset_and_split(args):
    """(dataset, train, validation, test) positions for --data."""
    from .. import data

    rng = np.random.default_rng(args.seed)
    if args.data == "qm9":
        whole = {part: data.qm9_split(part) for part in ("train", "validation")}
        for flag, part, n in (("train", "train", args.n_train), ("val", "validation", args.n_val)):
            if n is not None and n > len(whole[part]):
                raise FlagError(
                    f"--n-{flag} {n} is larger than QM9's {part} split ({len(whole[part]):,})"
                )
        ds = data.qm9()
        train = whole["train"][: args.n_train]  # the nested subset: the first N
        if args.draw_seed is not None:  # another draw of N molecules from the same split
            n = args.n_train or len(whole["train"])
            train = np.sort(
                np.random.default_rng(args.draw_seed).choice(whole["train"], n, replace=False)
            )
        val = whole["validation"][: args.n_val]
        test = data.qm9_split("test")
        return ds, train, val, test
    if args.data == "c20":
        train_set, test_set = data.c20("train"), data.c20("test")
        n = len(train_set)
        perm = rng.permutation(n)
        n_val = args.n_val or n // 20
        check_sizes(
            args,
            n,
            n_val,
            0,
            f"C20's training part ({n:,} structures; its test part "
            f"of {len(test_set):,} is kept for testing)",
        )
        n_train = args.n_train or n - n_val
        both = data.AtomsDataset(
            np.concatenate([train_set.Z, test_set.Z]),
            np.concatenate([train_set.R, test_set.R]),
            np.concatenate([train_set.start, train_set.start[-1] + test_set.start[1:]]),
            np.concatenate([train_set.energy, test_set.energy]),
            np.concatenate([train_set.forces, test_set.forces]),
            name="C20 GFN2-xTB",
        )
        return both, perm[n_val : n_val + n_train], perm[:n_val], np.arange(n, n + len(test_set))
    ds = (
        data.materials()
        if args.data == "materials"
        else data.AtomsDataset.read(args.data, require_energy=True)
    )
    perm = rng.permutation(len(ds))
    n_test = int(round(args.test_fraction * len(ds)))
    n_val = args.n_val or max(1, int(round(0.05 * len(ds))))
    check_sizes(args, len(ds), n_val, n_test, f"{args.data} ({len(ds):,} structures)")
    rest = perm[n_test + n_val :]
    return (
        ds,
        rest[: args.n_train] if args.n_train else rest,
        perm[n_test : n_test + n_val],
        perm[:n_test],
    )


def check_sizes(args, n: int, n_val: int, n_test: int, what: str) -> None:
    """FlagError unless ``n`` structures hold the validation and test parts and at least one
    (or --n-train) training structure."""
    left = n - n_val - n_test
    if left < 1:
        raise FlagError(
            f"{what} leaves no structure for training after {n_val:,} for validation "
            f"and {n_test:,} for testing"
        )
    if args.n_train is not None and args.n_train > left:
        raise FlagError(
            f"--n-train {args.n_train:,} is larger than what {what} leaves for training: "
            f"{left:,} after {n_val:,} for validation and {n_test:,} for testing"
        )


def _device(text: str) -> str:
    """An argparse type: a device torch knows ("cpu", "cuda", "cuda:1") or "auto"."""
    if text != "auto":
        try:
            torch.device(text)
        except RuntimeError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a device: cpu, cuda, cuda:1 or auto"
            ) from None
    return text


def _same_flag(flag: str, was, now) -> bool:
    """Whether a recorded flag value and this call's are the same (a data file by its path)."""
    if flag == "data" and was not in ("qm9", "c20", "materials"):
        return Path(str(was)).resolve() == Path(str(now)).resolve()
    return was == now


_ABSOLUTE_NEEDS_ENERGIES_ALONE = (
    "--energy-loss absolute trains on energies alone and needs --rho inf, not {rho} (the force "
    "term of loss (6) stays squared; its energy term does too)"
)


def check_flags_before_data(args) -> None:
    """FlagError for flags that do not apply to the chosen model or data, or that contradict the
    run being resumed in --run-dir, before any data load."""
    run_dir = Path(args.run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise FlagError(f"--run-dir {run_dir} is a file, not a folder")
    if args.max_hours == 0 and not (run_dir / "best.pt").exists():
        raise FlagError(
            f"--max-hours 0 writes model.pt from a run's best.pt, and {run_dir} has none yet"
        )
    recorded = run_dir / "result.json"
    if (run_dir / "checkpoint.pt").exists() and recorded.exists():
        # the flags that choose the training and test structures: another value would test the
        # resumed model on structures it was trained on
        was = json.loads(recorded.read_text()).get("hyperparameters", {})
        flags = ["data", "model", "seed", "draw_seed", "n_train"]
        if args.data not in ("qm9", "c20"):  # their test sets are fixed; the others are drawn
            flags.append("test_fraction")
        for flag in flags:
            if flag in was and not _same_flag(flag, was[flag], getattr(args, flag)):
                raise FlagError(
                    f"{run_dir} was trained with --{flag.replace('_', '-')} {was[flag]}, not "
                    f"{getattr(args, flag)}: resume it with the same value, or use a new --run-dir"
                )
    if args.energy_loss == "absolute" and args.rho is not None and not math.isinf(args.rho):
        raise FlagError(_ABSOLUTE_NEEDS_ENERGIES_ALONE.format(rho=args.rho))
    schnet_only = [
        flag
        for flag, given in (
            ("--rbf-width", args.rbf_width is not None),
            ("--no-cosine-cutoff", args.no_cosine_cutoff),
            ("--no-filter-activation", args.no_filter_activation),
            ("--output-activation", args.output_activation != "ssp"),
        )
        if given
    ]
    if args.model == "dtnn" and schnet_only:
        raise FlagError(
            f"{', '.join(schnet_only)}: the SchNet implementation choices do not apply to DTNN"
        )
    if args.model != "dtnn" and args.factors is not None:
        raise FlagError(f"--factors sets DTNN's factor space and does not apply to {args.model}")
    if args.draw_seed is not None and args.data != "qm9":
        raise FlagError(
            f"--draw-seed draws QM9's training molecules and does not apply to --data {args.data}"
        )


def build_model(args):
    """The untrained model that --model, --features, ... describe."""
    common = dict(
        n_features=args.features,
        n_interactions=args.interactions,
        n_rbf=args.rbf,
        cutoff=args.cutoff,
    )
    variant = dict(
        rbf_width=args.rbf_width,
        cosine_cutoff=not args.no_cosine_cutoff,
        filter_activation=not args.no_filter_activation,
        output_activation=args.output_activation,
    )
    if args.model == "dtnn":  # SchNet-only flags were refused by check_flags_before_data
        model = MODEL_CLASSES["dtnn"](**common, n_factors=args.factors)
    else:
        model = MODEL_CLASSES[args.model](**common, **variant)
    return model.to(getattr(torch, args.dtype))


def run(args, argv=None):
    """One training run from parsed ``add_train_arguments`` options; ``argv`` is recorded as its
    command."""

    check_flags_before_data(args)  # before the data load: a wrong flag costs nothing
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise FlagError(f"--device {args.device}: no CUDA device is available here")
    device = (
        torch.device("cuda" if torch.cuda.is_available() else "cpu")
        if args.device == "auto"
        else torch.device(args.device)
    )
    if distributed:
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    rank = torch.distributed.get_rank() if distributed else 0
    torch.manual_seed(args.seed)
    ds, train, val, test = dataset_and_split(args)
    if args.rho is None:  # loss (6) on energies and forces where the data have forces
        args.rho = DEFAULT_RHO if ds.forces is not None else math.inf
        if args.energy_loss == "absolute" and not math.isinf(args.rho):  # data with forces
            raise FlagError(_ABSOLUTE_NEEDS_ENERGIES_ALONE.format(rho=args.rho))
    model = build_model(args).to(device)
    run_dir = Path(args.run_dir)
    if args.init_from is not None and not (run_dir / "checkpoint.pt").exists():
        try:  # a resumed run has these weights (and more training) in its checkpoint already
            initial = load_checkpoint(args.init_from, model)
        except (FileNotFoundError, ValueError) as e:
            raise FlagError(f"--init-from: {e}") from None
        run_dir.mkdir(parents=True, exist_ok=True)
        with atomic_write(run_dir / "initial_weights.json", "w") as f:  # part of the provenance
            keys = ("command", "epochs", "test_energy_mae", "wall_seconds_total", "machine")
            json.dump({"path": str(args.init_from)} | {k: initial.get(k) for k in keys}, f)
    config = TrainConfig(
        rho=args.rho,
        lr=args.lr,
        batch_size=args.batch_size,
        max_epochs=args.epochs,
        lr_patience=args.lr_patience,
        early_stopping=args.early_stopping,
        seed=args.seed,
        max_seconds=args.max_hours * 3600,
        ema_decay=args.ema,
        atomref="keep" if args.init_from is not None else args.atomref,
        energy_error=args.energy_loss,
    )
    command = "python -m minischnet " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    start = time.time()
    trainer = Trainer(model, ds, train, val, config, run_dir, distributed=distributed)
    first_epoch = trainer.epoch
    history = trainer.fit()
    if rank == 0:
        with atomic_write(run_dir / "history.json", "w") as f:
            json.dump(history.__dict__, f, indent=1)
    if distributed:  # rank 0 writes best.pt: every process looks for it after that
        torch.distributed.barrier()
    if not (run_dir / "best.pt").exists():
        raise FlagError(
            f"no epoch in {run_dir} improved on the validation score, so there is no best.pt to "
            f"write a model from: the validation MAE was NaN or infinite at every epoch "
            f"(history.json has it per epoch; a smaller --lr?)"
        )
    if rank == 0:
        load_checkpoint(run_dir / "best.pt", model)
        # --test-fraction 0 holds nothing out: the run then has no test errors to report
        errors = evaluate(model, ds, test, forces=ds.forces is not None) if len(test) else {}
        result = dict(
            data=args.data,
            architecture=args.model,
            n_train=len(train),
            n_val=len(val),
            n_test=len(test),
            test_energy_mae=errors.get("energy_mae"),
            test_energy_mae_per_atom=errors.get("energy_mae_per_atom"),
            test_force_mae=errors.get("force_mae"),
            epochs=trainer.epoch,
            finished=trainer.finished,
            wall_seconds_this_call=time.time() - start,
            wall_seconds_total=float(np.sum(history.seconds)),
            device=str(device),
            machine=f"{platform.machine()}, {os.cpu_count()} cores"
            + (f", {torch.cuda.get_device_name(device)}" if device.type == "cuda" else ""),
            torch=str(torch.__version__),
            command=command,
            hyperparameters=vars(args),
            elements=[chemical_symbols[z] for z in trainer.trained_elements],
        )
        if (run_dir / "initial_weights.json").exists():  # a warm restart: where it started
            result["initial_weights"] = json.loads((run_dir / "initial_weights.json").read_text())
        model.elements = trainer.trained_elements  # model.pt records them: checked when used
        if trainer.epoch == first_epoch and (run_dir / "result.json").exists():
            # this call trained nothing (e.g. --max-hours 0): the model was trained by the earlier
            # command
            result["rewritten_by"] = command
            result["command"] = json.loads((run_dir / "result.json").read_text())["command"]
        save(
            model,
            run_dir / "model.pt",
            **{k: v for k, v in result.items() if k != "hyperparameters"},
            split=dict(
                train=np.asarray(train).tolist()
                if args.data != "qm9" or args.draw_seed is not None
                else f"qm9_split('train', {len(train)})",
                test="qm9_split('test')" if args.data == "qm9" else np.asarray(test).tolist(),
            ),
        )
        with atomic_write(run_dir / "result.json", "w") as f:  # learning-curve runners read it
            json.dump(result, f, indent=1)
        print(
            json.dumps(
                {k: result[k] for k in ("test_energy_mae", "test_force_mae", "epochs", "finished")}
            )
        )
    if distributed:  # rank 0 has written the results; leave together (an early exit aborts others)
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


def _is_description(path: Path) -> bool:
    """Whether ``path`` is a JSON description that ``ship`` wrote (and may write again)."""
    try:
        description = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(description, dict) and {"architecture", "command"} <= description.keys()


def ship(run_dir, path, note=None) -> dict:
    """Copy ``run_dir/model.pt`` (written when a run stops) to ``path``, plus ``path.json``
    describing it.

    The JSON holds what ``minischnet.load(path).info`` holds (hyperparameters, training command,
    split, test errors, epochs, wall time, machine), readable without torch.
    """
    source = Path(run_dir) / "model.pt"
    if not source.exists():
        raise FileNotFoundError(
            f"{source} is missing: run the training command again "
            f"(--max-hours 0 writes it from best.pt)"
        )
    path = Path(path)
    if path.suffix == ".json":
        raise FileExistsError(f"{path}: the model's description goes to a .json beside it; "
                              f"give the model another suffix, e.g. .pt")  # fmt: skip
    sidecar = path.with_suffix(".json")
    if sidecar.exists() and not _is_description(sidecar):
        raise FileExistsError(
            f"{sidecar} exists and is not a model description: ship does not overwrite it"
        )
    if path.exists():  # a model shipped before may be replaced; any other file is kept
        try:
            load(path)
        except Exception:
            raise FileExistsError(
                f"{path} exists and is not a minischnet model: ship does not overwrite it"
            ) from None
    model = load(source)
    info = {k: v for k, v in model.info.items() if k not in ("kind", "dtype", "hyperparameters")}
    if note:
        info["note"] = note
    save(model, path, **info)
    description = dict(load(path).info)
    split = description.get("split")
    if isinstance(split, dict) and not all(isinstance(v, str) for v in split.values()):
        description["split"] = {
            k: v
            if isinstance(v, str)
            else f"{len(v)} indices, in the .pt file: minischnet.load(path).info['split']['{k}']"
            for k, v in split.items()
        }
    path.with_suffix(".json").write_text(json.dumps(description, indent=1, default=str))
    return description
