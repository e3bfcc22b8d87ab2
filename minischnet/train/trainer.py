"""The trainer: loss (6), Adam, learning-rate decay on plateau, early stopping, exact resume.

    trainer = Trainer(model, dataset, train_idx, val_idx, TrainConfig(rho=0.01), "runs/c20")
    trainer.fit()                  # resumes from runs/c20/checkpoint.pt if it exists

Every epoch ends with a checkpoint (model, optimizer, scheduler, history) written atomically;
the order of the training structures in epoch e depends only on (seed, e), so a run resumed
from its checkpoint continues exactly as if it had never stopped. ``best.pt`` holds the model
with the lowest validation MAE so far.

With ``ema_decay`` > 0 the trainer also keeps an exponential moving average of the weights,
ema <- decay * ema + (1 - decay) * w after every step; validation, ``best.pt`` and hence the
shipped model use the averaged weights, which smooths out the step-to-step noise of Adam (the
energy offset of a force-trained model wanders by tens of meV between epochs otherwise).
"""

from __future__ import annotations

import hashlib
import math
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from .._progress import progress
from ..nn.registry import load, load_checkpoint, save_checkpoint
from .loss import check_energy_error, energy_force_loss, loss_per_structure
from .standardize import apply_output_scale, fit_output_scale

#: the energy weight of loss (6) that the shipped C20 model was trained with
DEFAULT_RHO = 0.1


@dataclass
class TrainConfig:
    rho: float = DEFAULT_RHO  # weight of the energy term in (6); math.inf trains on energies alone
    lr: float = 1e-3
    batch_size: int = 32
    max_epochs: int = 1000
    lr_patience: int = 10  # epochs without improvement before the learning rate is decayed
    lr_factor: float = 0.5
    min_lr: float = 1e-5  # stop when the learning rate decays below this
    early_stopping: int = 30  # epochs without improvement before stopping
    clip_grad_norm: float = 10.0
    seed: int = 0
    max_seconds: float = math.inf  # wall-clock budget for this call of fit(); resume continues
    # "fit" (least squares), "free" (the data set's free-atom energies), "none", or "keep" (the
    # model's own output scale, e.g. of a model loaded to train further)
    atomref: str = "fit"
    ema_decay: float = (
        0.0  # 0: no moving average of the weights; e.g. 0.999 averages about 1000 steps
    )
    # the energy term of the loss: "squared" as in (6), or "absolute" (energies alone only)
    energy_error: str = "squared"

    @property
    def energy_only(self) -> bool:
        return math.isinf(self.rho)


@dataclass
class History:
    epoch: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    val_energy_mae: list = field(default_factory=list)
    val_force_mae: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)  # loss (6) on the validation set (force training)
    lr: list = field(default_factory=list)
    seconds: list = field(default_factory=list)


class Trainer:
    def __init__(
        self,
        model,
        dataset,
        train_indices,
        val_indices,
        config: TrainConfig | None = None,
        run_dir: str | Path | None = None,
        device=None,
        distributed: bool = False,
    ):
        self.config = config or TrainConfig()
        check_energy_error(self.config.energy_error, self.config.rho)
        if dataset.energy is None:
            raise ValueError(f"{dataset.name} has no energies: training needs them")
        if not self.config.energy_only and dataset.forces is None:
            raise ValueError(
                f"{dataset.name} has no forces: train with rho=math.inf (energies only)"
            )
        if len(train_indices) == 0 or len(val_indices) == 0:
            raise ValueError("training and validation sets must not be empty")
        overlap = np.intersect1d(train_indices, val_indices)
        if len(overlap):
            raise ValueError(
                f"{len(overlap)} structures are in both the training and the validation set"
            )
        self.model = model.to(device) if device is not None else model
        # Own copies of the two parts: pair lists are then built for these structures only.
        self.train_set, self.val_set = dataset.subset(train_indices), dataset.subset(val_indices)
        #: the element numbers of the training set, saved with every model file
        self.trained_elements = np.unique(self.train_set.Z).tolist()
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.distributed = distributed
        self.rank = torch.distributed.get_rank() if distributed else 0
        self.world = torch.distributed.get_world_size() if distributed else 1
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.config.lr)
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            self.optimizer, factor=self.config.lr_factor, patience=self.config.lr_patience
        )
        self.history = History()
        # what the validation score means: which structures, and with which rho loss (6) weighs them
        self.val_fingerprint = f"{fingerprint(self.val_set)} rho={self.config.rho}"
        self.best_mae = math.inf
        self.epochs_since_best = 0
        self.epoch = 0
        self.ema = None
        saved_ema = None
        if self.run_dir is not None and (self.run_dir / "checkpoint.pt").exists():
            saved_ema = self._resume()
        elif self.config.atomref != "keep":
            refs = self.config.atomref
            if refs == "free":
                if getattr(dataset, "free_atom_energies", None) is None:
                    raise ValueError(
                        f"atomref='free' needs free-atom energies, "
                        f"and {dataset.name} has none (QM9 has)"
                    )
                refs = dataset.free_atom_energies[: self.model.max_z + 1]
            scale = fit_output_scale(
                self.train_set, np.arange(len(self.train_set)), self.model.max_z, refs
            )
            apply_output_scale(self.model, *scale)
        if distributed:  # every process starts from rank 0's weights
            for tensor in self.model.state_dict().values():
                torch.distributed.broadcast(tensor, src=0)
        if self.config.ema_decay > 0:
            # the average starts at the current weights (also when a run without one is resumed
            # with one)
            self.ema = [p.detach().clone() for p in self.model.parameters()]
            if saved_ema is not None:
                for e, saved in zip(self.ema, saved_ema):
                    e.copy_(saved)

    # -- state ----------------------------------------------------------------------------------
    def state(self) -> dict:
        return dict(
            model=self.model.state_dict(),
            optimizer=self.optimizer.state_dict(),
            scheduler=self.scheduler.state_dict(),
            epoch=self.epoch,
            best_mae=self.best_mae,
            epochs_since_best=self.epochs_since_best,
            history=asdict(self.history),
            config=asdict(self.config),
            ema=self.ema,
            val_fingerprint=self.val_fingerprint,
        )

    def _resume(self):
        state = load_checkpoint(self.run_dir / "checkpoint.pt", self.model)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        # The scheduler's state carries the patience and factor it was made with; the flags of
        # this call win, so that a run can be resumed on a shorter or longer plateau.
        for name, flag in (("patience", "lr_patience"), ("factor", "lr_factor")):
            saved, wanted = getattr(self.scheduler, name), getattr(self.config, flag)
            if saved != wanted:
                setattr(self.scheduler, name, wanted)
                print(f"resumed with {flag} {wanted} (was {saved})", flush=True)
        self.epoch, self.best_mae, self.epochs_since_best = (
            state["epoch"],
            state["best_mae"],
            state["epochs_since_best"],
        )
        history = state["history"]
        history.setdefault(
            "val_loss", [math.nan] * len(history["epoch"])
        )  # checkpoints from before val_loss
        self.history = History(**history)
        saved_config = state.get("config", {})
        # settings fixed at the start: the output scale is fitted once, and one run keeps one loss
        for key, default, flag, why in (
            ("atomref", "fit", "--atomref", "its output scale was fitted at the start"),
            ("energy_error", "squared", "--energy-loss", "its history would mix two losses"),
        ):
            saved, now = saved_config.get(key, default), getattr(self.config, key)
            if saved != now:
                raise ValueError(
                    f"{self.run_dir} was started with {flag} {saved}, not {now} ({why}): resume "
                    f"it the same way, or start a new run dir (--init-from its model goes on "
                    f"from its weights)"
                )
        started_with = saved_config.get("lr", self.config.lr)
        if self.config.lr != started_with:
            # A different --lr on resume is a manual decay (or raise): it applies from this epoch
            # on, and the checkpoint records it, so resuming again with the same --lr changes
            # nothing more.
            current = self.optimizer.param_groups[0]["lr"]
            for group in self.optimizer.param_groups:
                group["lr"] = self.config.lr
            print(
                f"resumed at epoch {self.epoch}: "
                f"learning rate {current:.3g} -> {self.config.lr:.3g} "
                f"(this run was last started with lr {started_with:.3g})",
                flush=True,
            )
        if state.get("val_fingerprint") != self.val_fingerprint:
            self._rescore_best()
        return state.get("ema")

    def _rescore_best(self):
        """The run goes on with another validation score (other structures, another rho, or one its
        checkpoint did not record). The best score so far and the plateau and early-stopping
        counters were measured with the old one: score best.pt with the new one, and if that
        differs from the recorded best (beyond float noise between devices), take it and restart
        both counters."""
        best_path = self.run_dir / "best.pt"
        if not best_path.exists():
            return
        best = load(best_path, device=self.model.device).to(self.model.dtype)
        mae = evaluate(best, self.val_set, forces=not self.config.energy_only, rho=self.config.rho)
        score = mae["energy_mae"] if self.config.energy_only else mae["loss"]
        if math.isclose(score, self.best_mae, rel_tol=1e-4):
            return  # the same score as recorded: nothing changed but the bookkeeping
        print(
            f"resumed at epoch {self.epoch} with another validation score: "
            f"best.pt scores {score:.6g} "
            f"(was {self.best_mae:.6g}); the plateau and early-stopping counters restart",
            flush=True,
        )
        self.best_mae, self.epochs_since_best = score, 0
        self.scheduler.best, self.scheduler.num_bad_epochs = score, 0

    def _save(self, name):
        if self.run_dir is not None and self.rank == 0:
            save_checkpoint(
                self.run_dir / name,
                self.model,
                **{k: v for k, v in self.state().items() if k != "model"},
                trained_elements=self.trained_elements,
            )

    # -- the loop -------------------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        c = self.config
        return (
            self.epoch >= c.max_epochs
            or self.epochs_since_best >= c.early_stopping
            or self.optimizer.param_groups[0]["lr"] < c.min_lr
        )

    def epoch_order(self, epoch: int) -> np.ndarray:
        """The training structures of ``epoch`` in their order: a function of (seed, epoch) only."""
        return np.random.default_rng([self.config.seed, epoch]).permutation(len(self.train_set))

    def train_epoch(self) -> float:
        c = self.config
        self.model.train()
        order = self.epoch_order(self.epoch)
        batches = [order[k : k + c.batch_size] for k in range(0, len(order), c.batch_size)]
        total, bar = (
            0.0,
            progress(
                batches,
                quiet=self.rank != 0 or len(batches) < 20,
                desc=f"epoch {self.epoch + 1}",
                leave=False,
            ),
        )
        for indices in bar:
            mine = indices[self.rank :: self.world]  # each process takes its share of the batch
            self.optimizer.zero_grad(set_to_none=False)
            if len(mine):
                batch = self.train_set.batch(mine, self.model.cutoff).to(
                    self.model.device, self.model.dtype
                )
                # the loss of the whole batch is the size-weighted mean of the shares
                loss = self.loss(batch) * (len(mine) * self.world / len(indices))
                loss.backward()
            else:
                loss = torch.zeros(())
            if self.distributed:
                # What DistributedDataParallel does, written out: the mean of the processes'
                # gradients. (DDP's own reducer is not used: its hooks and the double backward
                # through the forces of loss (6) do not mix.)
                for p in self.model.parameters():
                    torch.distributed.all_reduce(p.grad)
                    p.grad /= self.world
                torch.distributed.all_reduce(loss)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), c.clip_grad_norm)
            self.optimizer.step()
            if self.ema is not None:  # ema <- ema + (1 - decay) (w - ema)
                with torch.no_grad():
                    torch._foreach_lerp_(
                        self.ema, [p.detach() for p in self.model.parameters()], 1.0 - c.ema_decay
                    )
            total += loss.item() * len(indices) / self.world
            bar.set_postfix(loss=f"{loss.item():.4g}")
        return total / len(order)

    @contextmanager
    def averaged_weights(self):
        """Inside: the model holds the moving-average weights (if any); afterwards its own again."""
        if self.ema is None:
            yield self.model
            return
        params = list(self.model.parameters())
        own = [p.detach().clone() for p in params]
        with torch.no_grad():
            for p, e in zip(params, self.ema):
                p.copy_(e)
        try:
            yield self.model
        finally:
            with torch.no_grad():
                for p, w in zip(params, own):
                    p.copy_(w)

    def loss(self, batch):
        c = self.config
        return energy_force_loss(self.model, batch, c.rho, c.energy_error)  # eq. (6)

    def fit(self) -> History:
        start = time.time()
        bar = progress(
            total=self.config.max_epochs, initial=self.epoch, desc="training", quiet=self.rank != 0
        )
        while not self.finished and time.time() - start < self.config.max_seconds:
            t0 = time.time()
            train_loss = self.train_epoch()
            with self.averaged_weights():
                mae = evaluate(
                    self.model,
                    self.val_set,
                    forces=not self.config.energy_only,
                    rho=self.config.rho,
                )
            score = mae["energy_mae"] if self.config.energy_only else mae["loss"]
            self.epoch += 1
            self.scheduler.step(score)
            improved = score < self.best_mae
            self.best_mae = min(self.best_mae, score)
            self.epochs_since_best = 0 if improved else self.epochs_since_best + 1
            h = self.history
            h.epoch.append(self.epoch)
            h.train_loss.append(train_loss)
            h.val_energy_mae.append(mae["energy_mae"])
            h.val_force_mae.append(mae.get("force_mae", math.nan))
            h.val_loss.append(mae.get("loss", math.nan))
            h.lr.append(self.optimizer.param_groups[0]["lr"])
            h.seconds.append(time.time() - t0)
            if improved:
                with (
                    self.averaged_weights()
                ):  # the model worth keeping is the one that was validated
                    self._save("best.pt")
            self._save("checkpoint.pt")
            bar.update(1)
            shown = dict(loss=f"{train_loss:.4g}", val_E=f"{mae['energy_mae']:.4g} eV")
            if "force_mae" in mae:
                shown["val_F"] = f"{mae['force_mae']:.4g} eV/Å"
            bar.set_postfix(**shown, lr=f"{h.lr[-1]:.1e}")
        bar.close()
        return self.history


def fingerprint(dataset) -> str:
    """A digest of the structures and energies of ``dataset``: which validation set a run used."""
    digest = hashlib.sha256()
    for array in (dataset.Z, dataset.R, dataset.start, dataset.energy):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


def evaluate(
    model,
    dataset,
    indices=None,
    batch_size: int = 100,
    forces: bool = True,
    rho: float | None = None,
) -> dict:
    """Mean absolute errors on ``indices`` (all by default): energy (eV per structure, and per
    atom: the mean of |E - Ê| / n_atoms), forces (eV/Å per component).

    With forces and a finite ``rho`` also ``loss``: loss (6) with that rho, as a mean over the
    structures.
    """
    was_training = model.training
    model.eval()
    e_err, e_per_atom, f_err, losses = [], [], [], []
    indices = np.arange(len(dataset)) if indices is None else np.asarray(indices)
    if len(indices) < len(dataset):  # pair lists for these structures only, not the whole set
        dataset, indices = dataset.subset(indices), np.arange(len(indices))
    for k in range(0, len(indices), batch_size):
        batch = dataset.batch(indices[k : k + batch_size], model.cutoff).to(
            model.device, model.dtype
        )
        if forces and batch.forces is not None:
            E, F = model.energy_and_forces(batch)
            f_err.append((F - batch.forces).detach().abs().flatten().double().cpu().numpy())
            if rho is not None and math.isfinite(rho):
                losses.append(loss_per_structure(batch, E, F, rho).detach().double().cpu().numpy())
        else:
            with torch.no_grad():
                E = model(batch)
        e_err.append((E - batch.energy).abs().detach().cpu().double().numpy())
        e_per_atom.append(e_err[-1] / batch.n_atoms.cpu().double().numpy())
    model.train(was_training)
    out = {
        "energy_mae": float(np.concatenate(e_err).mean()),
        "energy_mae_per_atom": float(np.concatenate(e_per_atom).mean()),
    }
    if f_err:
        out["force_mae"] = float(np.concatenate(f_err).mean())
    if losses:
        out["loss"] = float(np.concatenate(losses).mean())  # loss (6), mean over the structures
    return out
