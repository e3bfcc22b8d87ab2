"""The trainer: it learns, it resumes exactly, it fits its scale on training data only, files."""

import math

import numpy as np
import pytest
import torch
from ase.build import molecule

import minischnet
from conftest import small_params, torch_model
from minischnet.data import AtomsDataset
from minischnet.train import TrainConfig, Trainer, evaluate, fit_output_scale


def teacher_dataset(n=12, seed=0):
    """Rattled small molecules labelled by a random SchNet (a smooth, learnable target)."""
    rng = np.random.default_rng(seed)
    teacher = torch_model("schnet", small_params("schnet", seed=7))
    structures = []
    for k in range(n):
        atoms = molecule(["H2O", "NH3", "CH4", "C2H2"][k % 4])
        atoms.rattle(0.1, seed=int(rng.integers(1 << 30)))
        atoms.calc = minischnet.Calculator(teacher)
        atoms.get_forces()
        structures.append(atoms)
    return AtomsDataset.from_atoms(structures)


def student(seed=0):
    torch.manual_seed(seed)
    return minischnet.SchNet(
        n_features=16, n_interactions=2, n_rbf=12, cutoff=4.0, max_z=20
    ).double()


@pytest.mark.slow
def test_tiny_model_overfits_tiny_data(tmp_path):
    ds = teacher_dataset(8)
    model = student()
    config = TrainConfig(
        rho=1.0, lr=5e-3, batch_size=8, max_epochs=400, lr_patience=1000, early_stopping=1000
    )
    # train on all 8, validate on a copy of one of them (validation must be a separate index set)
    ds2 = AtomsDataset.from_atoms([ds[k] for k in range(8)] + [ds[0]])
    trainer = Trainer(model, ds2, np.arange(8), [8], config)
    first = trainer.train_epoch()
    history = trainer.fit()
    assert history.train_loss[-1] < first / 100
    mae = evaluate(model, ds2, np.arange(8))
    assert mae["force_mae"] < 0.1 * np.abs(ds.forces).mean()


def test_resume_is_exact(tmp_path):
    ds = teacher_dataset(12)
    config = TrainConfig(rho=0.5, lr=1e-3, batch_size=5, max_epochs=4)
    straight = student()
    Trainer(straight, ds, np.arange(9), np.arange(9, 12), config, tmp_path / "a").fit()

    interrupted = student()
    Trainer(
        interrupted,
        ds,
        np.arange(9),
        np.arange(9, 12),
        TrainConfig(**{**config.__dict__, "max_epochs": 2}),
        tmp_path / "b",
    ).fit()
    resumed = student(
        seed=123
    )  # different initial weights: everything must come from the checkpoint
    trainer = Trainer(resumed, ds, np.arange(9), np.arange(9, 12), config, tmp_path / "b")
    assert trainer.epoch == 2
    trainer.fit()
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)
    assert trainer.history.epoch == [1, 2, 3, 4]


def test_resume_with_a_new_learning_rate(tmp_path):
    """A different lr on resume applies from that epoch on: the same weights as changing it in
    place."""
    ds = teacher_dataset(12)
    config = TrainConfig(rho=0.5, lr=1e-3, batch_size=5, max_epochs=2)
    in_place = student()
    trainer = Trainer(in_place, ds, np.arange(9), np.arange(9, 12), TrainConfig(**config.__dict__))
    trainer.fit()
    for group in trainer.optimizer.param_groups:
        group["lr"] = 2e-4
    trainer.config.max_epochs = 4
    trainer.fit()

    Trainer(student(), ds, np.arange(9), np.arange(9, 12), config, tmp_path).fit()
    resumed = student(seed=5)
    later = TrainConfig(**{**config.__dict__, "lr": 2e-4, "max_epochs": 4})
    trainer = Trainer(resumed, ds, np.arange(9), np.arange(9, 12), later, tmp_path)
    history = trainer.fit()
    assert history.lr == [1e-3, 1e-3, 2e-4, 2e-4]
    for (name, a), b in zip(in_place.state_dict().items(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)
    # the checkpoint remembers the new rate: resuming again with it changes nothing more
    trainer = Trainer(
        student(),
        ds,
        np.arange(9),
        np.arange(9, 12),
        TrainConfig(**{**later.__dict__, "max_epochs": 5}),
        tmp_path,
    )
    assert trainer.optimizer.param_groups[0]["lr"] == 2e-4
    assert trainer.fit().lr[-1] == 2e-4


def test_resume_with_another_energy_error_is_refused(tmp_path):
    """A run keeps one loss: resuming a squared-error run on the absolute error would mix two
    recipes in one history, so it is an error that names the way out (--init-from)."""
    ds = teacher_dataset(12)
    config = TrainConfig(rho=math.inf, batch_size=5, max_epochs=1)
    Trainer(student(), ds, np.arange(9), np.arange(9, 12), config, tmp_path).fit()
    absolute = TrainConfig(**{**config.__dict__, "energy_error": "absolute", "max_epochs": 2})
    with pytest.raises(ValueError, match="--energy-loss squared, not absolute .*--init-from"):
        Trainer(student(), ds, np.arange(9), np.arange(9, 12), absolute, tmp_path)
    with pytest.raises(ValueError, match="absolute energy error is for training on energies"):
        Trainer(student(), ds, np.arange(9), np.arange(9, 12), TrainConfig(energy_error="absolute"))
    # a new run dir trains on it; one epoch lowers the mean absolute error it minimises
    model = student()
    before = evaluate(model, ds, np.arange(9))["energy_mae"]
    fine = TrainConfig(rho=math.inf, lr=1e-3, batch_size=9, max_epochs=1, energy_error="absolute")
    Trainer(model, ds, np.arange(9), np.arange(9, 12), fine, tmp_path / "abs").fit()
    assert evaluate(model, ds, np.arange(9))["energy_mae"] < before


def test_resume_with_a_new_plateau_patience(tmp_path):
    """--lr-patience on resume wins over the one saved in the scheduler's state: the same
    learning rates and weights as changing the patience in place."""
    ds = teacher_dataset(12)
    config = TrainConfig(rho=0.5, lr=3e-2, batch_size=5, max_epochs=2, lr_patience=1000)
    in_place = student()
    trainer = Trainer(in_place, ds, np.arange(9), np.arange(9, 12), TrainConfig(**config.__dict__))
    trainer.fit()
    trainer.scheduler.patience = 0
    trainer.config.max_epochs = 8
    expected = trainer.fit().lr
    assert min(expected) < config.lr  # the short plateau did halve the rate: the test can tell

    Trainer(student(), ds, np.arange(9), np.arange(9, 12), config, tmp_path).fit()
    later = TrainConfig(**{**config.__dict__, "lr_patience": 0, "max_epochs": 8})
    resumed = student(seed=5)
    trainer = Trainer(resumed, ds, np.arange(9), np.arange(9, 12), later, tmp_path)
    assert trainer.scheduler.patience == 0
    assert trainer.fit().lr == expected
    for (name, a), b in zip(in_place.state_dict().items(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)


def test_resume_with_another_validation_score_rescores_best(tmp_path):
    """Scores measured on one validation set (or with one rho) mean nothing on another: on resume
    the best score becomes best.pt's score on the new set (recomputed independently here) and both
    patience counters restart. The same set and rho again leave everything as it was."""
    ds = teacher_dataset(16)
    config = TrainConfig(
        rho=0.5, lr=1e-3, batch_size=5, max_epochs=3, lr_patience=1, early_stopping=2
    )
    Trainer(student(), ds, np.arange(10), np.arange(10, 13), config, tmp_path).fit()
    saved = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    same = Trainer(student(), ds, np.arange(10), np.arange(10, 13), config, tmp_path)
    assert (
        same.best_mae == saved["best_mae"] and same.epochs_since_best == saved["epochs_since_best"]
    )
    # a checkpoint that did not record its validation set: rescored, found equal, kept as it was
    saved.pop("val_fingerprint")
    saved["epochs_since_best"] = 1  # a count that a restart would visibly lose
    torch.save(saved, tmp_path / "checkpoint.pt")
    unrecorded = Trainer(student(), ds, np.arange(10), np.arange(10, 13), config, tmp_path)
    assert (
        unrecorded.best_mae == saved["best_mae"]
        and unrecorded.epochs_since_best == saved["epochs_since_best"]
    )

    best = minischnet.load(tmp_path / "best.pt")
    other = Trainer(student(), ds, np.arange(10), np.arange(13, 16), config, tmp_path)
    assert other.best_mae == pytest.approx(
        evaluate(best, ds, np.arange(13, 16), rho=0.5)["loss"], rel=1e-12
    )
    assert other.best_mae != pytest.approx(saved["best_mae"], rel=1e-3)  # the sets really differ
    assert other.epochs_since_best == 0 and other.scheduler.num_bad_epochs == 0
    assert other.scheduler.best == other.best_mae
    reweighted = Trainer(
        student(),
        ds,
        np.arange(10),
        np.arange(10, 13),
        TrainConfig(**{**config.__dict__, "rho": 0.05}),
        tmp_path,
    )
    assert reweighted.best_mae == pytest.approx(
        evaluate(best, ds, np.arange(10, 13), rho=0.05)["loss"], rel=1e-12
    )


def test_output_scale_uses_training_split_only():
    ds = teacher_dataset(12)
    train, val = np.arange(8), np.arange(8, 12)
    atomref, mean, std = fit_output_scale(ds, train, max_z=20)
    # Closed form on the training part alone.
    sub = ds.subset(train)
    counts = np.diff(sub.start)
    C = np.zeros((len(sub), 21))
    np.add.at(C, (np.repeat(np.arange(len(sub)), counts), sub.Z), 1)
    expected = np.linalg.lstsq(C, sub.energy, rcond=None)[0]
    np.testing.assert_allclose(atomref, expected, atol=1e-10)
    assert std == pytest.approx(((sub.energy - C @ expected) / counts).std())
    # Changing the validation energies changes nothing.
    ds.energy[val] += 1000.0
    model = student()
    Trainer(model, ds, train, val, TrainConfig(max_epochs=0))
    np.testing.assert_allclose(model.atomref.numpy(), atomref, atol=1e-10)
    assert model.mean.item() == pytest.approx(mean) and model.std.item() == pytest.approx(std)


def test_output_scale_with_given_or_no_atom_references(tmp_path):
    """atomref="none": mean and std of E/n_atoms on the training part; "free": the data set's
    free-atom energies, then mean and std of the per-atom atomization energy. A run resumed the
    other way is refused instead of silently keeping the scale it started with."""
    ds = teacher_dataset(8)
    train, val = np.arange(6), [6, 7]
    counts = np.diff(ds.start)[train]
    model = student()
    Trainer(model, ds, train, val, TrainConfig(max_epochs=1, atomref="none"), tmp_path).fit()
    per_atom = ds.energy[train] / counts
    assert np.all(model.atomref.numpy() == 0.0)
    assert model.mean.item() == pytest.approx(per_atom.mean(), rel=1e-12)
    assert model.std.item() == pytest.approx(per_atom.std(), rel=1e-12)
    with pytest.raises(ValueError, match="--atomref none, not fit .* fitted at the start"):
        Trainer(student(), ds, train, val, TrainConfig(max_epochs=2), tmp_path)

    with pytest.raises(ValueError, match="free-atom energies"):
        Trainer(student(), ds, train, val, TrainConfig(atomref="free"))
    ds.free_atom_energies = np.zeros(101)
    ds.free_atom_energies[[1, 6, 7, 8]] = [-13.6, -1030.0, -1485.0, -2042.0]
    model = student()
    Trainer(model, ds, train, val, TrainConfig(max_epochs=0, atomref="free"))
    np.testing.assert_array_equal(model.atomref.numpy(), ds.free_atom_energies[:21])
    sub = ds.subset(train)
    binding = (sub.energy - np.add.reduceat(ds.free_atom_energies[sub.Z], sub.start[:-1])) / counts
    assert model.mean.item() == pytest.approx(binding.mean(), rel=1e-12)
    assert model.std.item() == pytest.approx(binding.std(), rel=1e-12)
    ds.free_atom_energies[8] = 0.0  # the data hold oxygen
    with pytest.raises(ValueError, match=r"element numbers \[8\]"):
        Trainer(student(), ds, train, val, TrainConfig(atomref="free"))


def test_energy_only_training_and_label_checks():
    ds = teacher_dataset(6)
    model = student()
    trainer = Trainer(
        model, ds, np.arange(4), [4, 5], TrainConfig(rho=math.inf, max_epochs=2, batch_size=2)
    )
    history = trainer.fit()
    assert len(history.epoch) == 2 and math.isnan(history.val_force_mae[0])
    # energies alone: the force labels do not reach the weights (any others give the same steps)
    no_forces = AtomsDataset(ds.Z, ds.R, ds.start, energy=ds.energy)
    other_forces = AtomsDataset(ds.Z, ds.R, ds.start, energy=ds.energy, forces=-3 * ds.forces + 1)
    weights = []
    for data in (ds, other_forces, no_forces):
        model = student()
        Trainer(
            model, data, np.arange(4), [4, 5], TrainConfig(rho=math.inf, max_epochs=2, batch_size=2)
        ).fit()
        weights.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.equal(weights[0], weights[1]) and torch.equal(weights[0], weights[2])
    model = student()
    Trainer(model, ds, np.arange(4), [4, 5], TrainConfig(rho=1.0, max_epochs=2, batch_size=2)).fit()
    assert not torch.equal(
        torch.cat([p.detach().flatten() for p in model.parameters()]), weights[0]
    )
    with pytest.raises(ValueError, match="no forces"):
        Trainer(student(), no_forces, [0, 1], [2], TrainConfig(rho=0.1))
    with pytest.raises(ValueError, match="both the training and the validation"):
        Trainer(student(), ds, [0, 1, 2], [2, 3], TrainConfig())


def test_model_files(tmp_path):
    model = student().eval()
    path = tmp_path / "m.pt"
    minischnet.save(model, path, test_mae=0.5, command="python -m minischnet train ...")
    back = minischnet.load(path)
    assert back.info["test_mae"] == 0.5 and back.dtype == torch.float64
    batch = minischnet.collate([molecule("CH3OH")], 4.0)
    torch.testing.assert_close(
        back.energy_and_forces(batch)[0], model.energy_and_forces(batch)[0], rtol=0, atol=0
    )

    damaged = tmp_path / "damaged.pt"
    damaged.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(ValueError, match="damaged or truncated"):
        minischnet.load(damaged)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": model.state_dict()}, foreign)
    with pytest.raises(ValueError, match="not a minischnet model file"):
        minischnet.load(foreign)
    with pytest.raises(FileNotFoundError):
        minischnet.load(tmp_path / "missing.pt")


class _RunsCode:
    """Unpickling this calls os.system: what a crafted model file can do to torch.load."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


def test_loading_never_runs_code_from_a_file(tmp_path):
    """A crafted file whose pickle would run a shell command is refused before it runs, as a
    model (load), as a training checkpoint (resume) and as an RPMD state (np.load)."""
    from minischnet.nn.registry import FORMAT, load_checkpoint

    model = student().eval()
    marker = tmp_path / "the_command_ran"
    crafted = tmp_path / "crafted.pt"
    torch.save(
        {"format": FORMAT, "kind": "schnet", "model": model.state_dict(), "x": _RunsCode(marker)},
        crafted,
    )
    with pytest.raises(ValueError, match="refuses to unpickle"):
        minischnet.load(crafted)
    with pytest.raises(ValueError, match="refuses to unpickle"):
        load_checkpoint(crafted, model)
    assert not marker.exists()

    # the same trick in a NumPy file: an object array is never unpickled
    state = tmp_path / "P8.npz"
    np.savez(state, beads=np.zeros(3), state=np.array(_RunsCode(marker), dtype=object))
    with np.load(state) as saved, pytest.raises(ValueError, match="allow_pickle"):
        saved["state"]
    assert not marker.exists()


def test_saved_info_must_be_plain_data(tmp_path):
    """save() writes only what loads back weights-only, converting what it can."""
    model = student().eval()
    minischnet.save(model, tmp_path / "m.pt", torch=torch.__version__, n=np.int64(3), data=tmp_path)
    info = minischnet.load(tmp_path / "m.pt").info
    assert type(info["torch"]) is str and info["n"] == 3 and info["data"] == str(tmp_path)
    with pytest.raises(TypeError, match=r"info\['bad'\]\[1\] is a object"):
        minischnet.save(model, tmp_path / "m2.pt", bad=[1, object()])
    assert not (tmp_path / "m2.pt").exists()


def test_validation_loss_is_loss_6():
    """With forces, the trainer's validation score is loss (6) on the validation set."""
    from minischnet.train.loss import energy_force_loss

    ds = teacher_dataset(7)
    model = student()
    fit_scale = fit_output_scale(ds, np.arange(7), max_z=20)
    from minischnet.train.standardize import apply_output_scale

    apply_output_scale(model, *fit_scale)
    model.eval()
    rho = 0.3
    # batch_size 3 splits the set unevenly: the mean must still be over structures
    out = evaluate(model, ds, batch_size=3, rho=rho)
    expected = energy_force_loss(model, ds.batch(np.arange(7), model.cutoff), rho).item()
    assert out["loss"] == pytest.approx(expected, rel=1e-10)
    assert "loss" not in evaluate(model, ds, rho=math.inf)
    # per-atom energy MAE: mean over structures of |E - Ê| / n_atoms
    with torch.no_grad():
        E = model(ds.batch(np.arange(7), model.cutoff)).numpy()
    assert out["energy_mae_per_atom"] == pytest.approx(
        np.mean(np.abs(E - ds.energy) / np.diff(ds.start)), rel=1e-10
    )


def test_moving_average_of_the_weights(tmp_path):
    """One step: ema = d w0 + (1 - d) w1. Validation and best.pt use the average; resume is
    exact."""
    ds = teacher_dataset(12)
    decay = 0.9
    model = student()
    trainer = Trainer(
        model,
        ds,
        np.arange(9),
        np.arange(9, 12),
        TrainConfig(rho=0.5, lr=1e-2, batch_size=9, max_epochs=1, ema_decay=decay),
    )
    w0 = [p.detach().clone() for p in model.parameters()]
    trainer.train_epoch()  # one batch: one step
    for e, a, b in zip(trainer.ema, w0, model.parameters()):
        torch.testing.assert_close(e, decay * a + (1 - decay) * b.detach(), rtol=1e-12, atol=1e-14)
    assert any(
        not torch.equal(a, b) for a, b in zip(w0, model.parameters())
    )  # the step moved the weights

    config = TrainConfig(rho=0.5, lr=1e-2, batch_size=5, max_epochs=3, ema_decay=decay)
    fitted = student()
    history = Trainer(fitted, ds, np.arange(9), np.arange(9, 12), config, tmp_path / "a").fit()
    best = minischnet.load(tmp_path / "a" / "best.pt")
    k = int(np.argmin(history.val_loss))
    assert evaluate(best, ds, np.arange(9, 12), rho=0.5)["loss"] == pytest.approx(
        history.val_loss[k], rel=1e-10
    )
    # the model itself keeps its own (not averaged) weights for the next step
    assert any(not torch.equal(a, b) for a, b in zip(best.parameters(), fitted.parameters()))
    interrupted = student()
    Trainer(
        interrupted,
        ds,
        np.arange(9),
        np.arange(9, 12),
        TrainConfig(**{**config.__dict__, "max_epochs": 1}),
        tmp_path / "b",
    ).fit()
    resumed = Trainer(student(seed=5), ds, np.arange(9), np.arange(9, 12), config, tmp_path / "b")
    resumed.fit()
    for a, b in zip(fitted.parameters(), resumed.model.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    straight = Trainer(
        fitted, ds, np.arange(9), np.arange(9, 12), config, tmp_path / "a"
    )  # its saved average
    for a, b in zip(straight.ema, resumed.ema):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_a_model_refuses_elements_it_was_not_trained_on(tmp_path):
    """The C20 model (carbon only) asked about ethanol: a clear error, or with the opt-in a
    warning and the numbers; a file records its training set's elements, and files written
    before that record use their data set's."""
    import warnings

    c20_model = minischnet.load("c20_schnet")  # written before trained_elements existed
    assert c20_model.elements == [6]
    ethanol = minischnet.collate([molecule("CH3CH2OH")], c20_model.cutoff)
    with pytest.raises(ValueError, match=r"trained on C \(6\) only; H \(1\), O \(8\)"):
        c20_model.energy_and_forces(ethanol)
    with pytest.raises(ValueError, match="trained on C"):
        c20_model(ethanol)  # energies alone too
    c20_model.unseen_elements = "warn"
    with pytest.warns(UserWarning, match="untrained embeddings"):
        E, _ = c20_model.energy_and_forces(ethanol)
    assert np.isfinite(E.item())

    ds = teacher_dataset(6)
    train = [k for k in range(6) if 8 not in ds[k].numbers][:3] or [0, 1]
    val = [k for k in range(6) if k not in train][:1]
    trainer = Trainer(
        student(), ds, train, val, TrainConfig(max_epochs=1, batch_size=2), run_dir=tmp_path
    )
    trainer.fit()
    expected = np.unique(np.concatenate([ds[k].numbers for k in train])).tolist()
    assert trainer.trained_elements == expected
    assert minischnet.load(tmp_path / "best.pt").elements == expected
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        minischnet.load(tmp_path / "best.pt").energy_and_forces(
            minischnet.collate([ds[k] for k in train], 4.0)
        )  # its own elements: no error, no warning


def test_evaluation_builds_pair_lists_only_for_what_it_evaluates():
    """Testing 2 of 12 structures lists the pairs of those 2 (the C20 test set is 2,000 of
    22,000), and gives the same errors as evaluating a data set of just those 2."""
    from minischnet.train.trainer import evaluate

    ds, model = teacher_dataset(12), student().eval()
    errors = evaluate(model, ds, [3, 7])
    assert ds._pairs == {}  # nothing was cached for the other ten
    alone = evaluate(model, ds.subset([3, 7]))
    assert errors == alone and errors["force_mae"] > 0
