"""The command line trains on any ASE file, writes its results, and resumes."""

import json
import os
import subprocess
import sys

import pytest
import torch
from test_train import teacher_dataset

import minischnet


def run_cli(*args):
    env = dict(os.environ, TQDM_DISABLE="1")
    return subprocess.run(
        [sys.executable, "-m", "minischnet", "train", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_train_on_a_file_and_resume(tmp_path):
    data = tmp_path / "set.extxyz"
    teacher_dataset(20).write(data)
    common = [
        "--data",
        str(data),
        "--run-dir",
        str(tmp_path / "run"),
        "--features",
        "16",
        "--interactions",
        "1",
        "--rbf",
        "10",
        "--cutoff",
        "4",
        "--dtype",
        "float64",
        "--batch-size",
        "4",
    ]
    first = run_cli(*common, "--epochs", "2", "--plot")
    assert first.returncode == 0, first.stderr[-2000:]
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["epochs"] == 2 and result["n_test"] == 2 and result["test_force_mae"] > 0
    assert (tmp_path / "run" / "history.png").stat().st_size > 1000
    model = minischnet.load(tmp_path / "run" / "model.pt")
    assert (
        model.info["test_energy_mae"] == result["test_energy_mae"] and model.dtype == torch.float64
    )
    assert model.info["elements"] == ["H", "C", "N", "O"]  # of the training set, in order of Z
    assert model.elements == [1, 6, 7, 8]

    second = run_cli(*common, "--epochs", "4")
    assert second.returncode == 0, second.stderr[-2000:]
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert history["epoch"] == [1, 2, 3, 4]  # resumed, not restarted


def test_file_without_energies_is_refused(tmp_path):
    import ase.io
    from ase.build import molecule

    ase.io.write(tmp_path / "plain.xyz", [molecule("H2O")] * 3)
    out = run_cli("--data", str(tmp_path / "plain.xyz"), "--run-dir", str(tmp_path / "run"))
    assert out.returncode != 0 and "has no energy" in out.stderr


@pytest.mark.slow
def test_implementation_choices_reach_the_saved_model(tmp_path):
    data = tmp_path / "set.extxyz"
    teacher_dataset(12).write(data)
    common = [
        "--data",
        str(data),
        "--features",
        "8",
        "--interactions",
        "1",
        "--rbf",
        "6",
        "--cutoff",
        "4",
        "--epochs",
        "1",
        "--batch-size",
        "4",
    ]
    done = run_cli(
        *common,
        "--run-dir",
        str(tmp_path / "v"),
        "--no-cosine-cutoff",
        "--rbf-width",
        "0.4",
        "--output-activation",
        "tanh",
        "--no-filter-activation",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    model = minischnet.load(tmp_path / "v" / "model.pt")
    assert model.variant == dict(
        rbf_width=0.4, cosine_cutoff=False, filter_activation=False, output_activation="tanh"
    )
    assert model.rbf_gamma.item() == pytest.approx(0.5 / 0.4**2, rel=1e-6)
    refused = run_cli(
        *common, "--run-dir", str(tmp_path / "d"), "--model", "dtnn", "--no-cosine-cutoff"
    )
    assert refused.returncode != 0 and "do not apply to DTNN" in refused.stderr


@pytest.mark.slow
def test_ship_copies_a_runs_model_with_its_description(tmp_path):
    data = tmp_path / "set.extxyz"
    teacher_dataset(12).write(data)
    run = run_cli(
        "--data",
        str(data),
        "--run-dir",
        str(tmp_path / "r"),
        "--features",
        "8",
        "--interactions",
        "1",
        "--rbf",
        "6",
        "--cutoff",
        "4",
        "--epochs",
        "1",
        "--batch-size",
        "4",
    )
    assert run.returncode == 0, run.stderr[-2000:]
    # --max-hours 0 trains nothing and writes model.pt and result.json again from best.pt
    again = run_cli(
        "--data",
        str(data),
        "--run-dir",
        str(tmp_path / "r"),
        "--features",
        "8",
        "--interactions",
        "1",
        "--rbf",
        "6",
        "--cutoff",
        "4",
        "--epochs",
        "5",
        "--batch-size",
        "4",
        "--max-hours",
        "0",
    )
    assert again.returncode == 0, again.stderr[-2000:]
    rewritten = json.loads((tmp_path / "r" / "result.json").read_text())
    assert rewritten["epochs"] == 1
    # the command that trained the model stays the recorded one; the rewriting call is noted
    # beside it
    assert (
        "--max-hours" not in rewritten["command"] and "--max-hours 0" in rewritten["rewritten_by"]
    )
    env = dict(os.environ, TQDM_DISABLE="1")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "minischnet",
            "ship",
            str(tmp_path / "r"),
            str(tmp_path / "m" / "x.pt"),
            "--note",
            "a test model",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    shipped, original = (
        minischnet.load(tmp_path / "m" / "x.pt"),
        minischnet.load(tmp_path / "r" / "model.pt"),
    )
    for a, b in zip(shipped.state_dict().values(), original.state_dict().values()):
        assert torch.equal(a, b)
    description = json.loads((tmp_path / "m" / "x.json").read_text())
    assert description["note"] == "a test model"
    assert description["test_energy_mae"] == original.info["test_energy_mae"]
    assert "indices, in the .pt file" in description["split"]["train"]


@pytest.fixture(scope="module")
def file_of_51(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "set51.extxyz"
    teacher_dataset(51).write(path)
    return path


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--n-train", "1000"], "--n-train 1,000 is larger than what .* leaves for training: 43"),
        (["--n-train", "0"], "argument --n-train: must be >= 1, got 0"),
        (["--rho", "-1"], "argument --rho: must be > 0, got -1"),
        (["--rho", "nan"], "argument --rho: must be a finite number, got nan"),
        (["--energy-loss", "absolute", "--rho", "0.5"], "--energy-loss absolute .* not 0.5"),
        (["--energy-loss", "absolute"], "--energy-loss absolute .* needs --rho inf, not 0.1"),
        (["--energy-loss", "l1"], "argument --energy-loss: invalid choice: 'l1'"),
        (["--lr", "0"], "argument --lr: must be > 0, got 0"),
        (["--lr", "inf"], "argument --lr: must be a finite number"),
        (["--batch-size", "0"], "argument --batch-size: must be >= 1, got 0"),
        (["--epochs", "0"], "argument --epochs: must be >= 1, got 0"),
        (["--epochs", "2.5"], "argument --epochs: '2.5' is not an integer"),
        (["--cutoff", "-5"], "argument --cutoff: must be > 0"),
        (["--ema", "1"], "argument --ema: must be >= 0 and < 1, got 1"),
        (["--test-fraction", "1.5"], "argument --test-fraction: must be >= 0 and < 1"),
        (["--n-val", "60"], "leaves no structure for training after 60 for validation"),
        (["--rbf", "1"], "argument --rbf: must be >= 2"),
        (["--max-hours", "-1"], "argument --max-hours: must be >= 0"),
        (
            ["--model", "dtnn", "--no-cosine-cutoff", "--rbf-width", "0.3"],
            "--rbf-width, --no-cosine-cutoff: the SchNet implementation choices do not apply",
        ),
        (["--model", "dtnn", "--output-activation", "tanh"], "--output-activation: the SchNet"),
        (["--model", "schnet", "--factors", "8"], "--factors .* does not apply to schnet"),
        (["--draw-seed", "1"], "--draw-seed draws QM9's .* does not apply to --data .*set51"),
        (["--device", "gpu"], "argument --device: 'gpu' is not a device: cpu, cuda"),
        (["--features", "1"], "argument --features: must be >= 2, got 1"),
        (["--max-hours", "0"], "--max-hours 0 writes model.pt from a run's best.pt, .* has none"),
    ],
)
def test_bad_flags_are_a_one_line_error_and_exit_2(file_of_51, tmp_path, capsys, flags, message):
    """Every flag is checked, against the data too, before anything trains: exit code 2, one
    line that names the flag, and no run directory written."""
    import re

    from minischnet.cli import main

    run_dir = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--data", str(file_of_51), "--run-dir", str(run_dir), *flags])
    assert exit_.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("minischnet train: error: ") and re.search(message, error), error
    assert not run_dir.exists()


def test_c20_sizes_are_checked_against_the_data(tmp_path, capsys):
    from minischnet.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["train", "--data", "c20", "--n-train", "100000", "--run-dir", str(tmp_path / "r")])
    assert exit_.value.code == 2
    assert "--n-train 100,000 is larger than what C20's training part" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


@pytest.mark.skipif(
    torch.cuda.is_available(), reason="checks the message on a machine without CUDA"
)
def test_asking_for_cuda_without_it_is_a_flag_error(file_of_51, tmp_path, capsys):
    from minischnet.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["train", "--data", str(file_of_51), "--run-dir", str(tmp_path / "r"), "--device",
              "cuda"])  # fmt: skip
    assert exit_.value.code == 2
    assert "--device cuda: no CUDA device is available here" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_a_warm_restart_starts_from_the_files_weights_and_scale(file_of_51, tmp_path, capsys):
    """--init-from: the new run starts where the file's model ended (weights and output scale,
    even on another split, where a refit would move the scale), records where it started, and
    resumes like any run. A file of another architecture is a flag error."""
    import numpy as np

    from minischnet.cli import main

    arch = ["--features", "16", "--interactions", "1", "--rbf", "10", "--cutoff", "4",
            "--dtype", "float64", "--batch-size", "8"]  # fmt: skip
    main(["train", "--data", str(file_of_51), "--run-dir", str(tmp_path / "src"), *arch,
          "--epochs", "3"])  # fmt: skip
    source = minischnet.load(tmp_path / "src" / "model.pt")
    restart = ["train", "--data", str(file_of_51), "--run-dir", str(tmp_path / "warm"), *arch,
               "--init-from", str(tmp_path / "src" / "model.pt"), "--seed", "1",
               "--lr", "1e-5"]  # fmt: skip
    main([*restart, "--epochs", "1"])
    warm = minischnet.load(tmp_path / "warm" / "model.pt")
    for name, tensor in source.state_dict().items():  # 6 Adam steps of at most ~1e-5 each
        np.testing.assert_allclose(warm.state_dict()[name], tensor, atol=1e-4, err_msg=name)
    assert torch.equal(warm.atomref, source.atomref) and warm.std == source.std
    started = json.loads((tmp_path / "warm" / "result.json").read_text())["initial_weights"]
    assert started["epochs"] == 3 and started["path"] == str(tmp_path / "src" / "model.pt")
    main([*restart, "--epochs", "2"])  # resumes the warm run, not restarts it
    result = json.loads((tmp_path / "warm" / "result.json").read_text())
    assert result["epochs"] == 2 and result["initial_weights"] == started
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--data", str(file_of_51), "--run-dir", str(tmp_path / "other"),
              "--features", "8", "--init-from", str(tmp_path / "src" / "model.pt")])  # fmt: skip
    assert exit_.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("minischnet train: error: --init-from: ") and "holds a schnet" in error
    assert not (tmp_path / "other").exists()


def test_a_run_is_resumed_only_with_the_flags_that_chose_its_structures(
    file_of_51, tmp_path, capsys
):
    """Resuming with another --seed (or --data, --n-train, ...) would test the model on molecules
    it trained on: refused in one line, and the run's files are kept as they were."""
    from minischnet.cli import main

    run_dir = tmp_path / "run"
    tiny = ["--features", "8", "--interactions", "1", "--rbf", "5", "--epochs", "1"]
    main(["train", "--data", str(file_of_51), "--run-dir", str(run_dir), *tiny])
    before = (run_dir / "result.json").read_text()
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--data", str(file_of_51), "--run-dir", str(run_dir), *tiny, "--seed", "5"])
    assert exit_.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "was trained with --seed 0, not 5" in error, error
    assert (run_dir / "result.json").read_text() == before
    # the same file by another path is the same data: resumed (here: nothing left to train)
    relative = os.path.relpath(file_of_51)
    main(["train", "--data", relative, "--run-dir", str(run_dir), *tiny])
    # a file in the way of --run-dir is named, and kept
    blocker = tmp_path / "notes.txt"
    blocker.write_text("mine")
    with pytest.raises(SystemExit):
        main(["train", "--data", str(file_of_51), "--run-dir", str(blocker), *tiny])
    assert "is a file, not a folder" in capsys.readouterr().err
    # ship does not overwrite a file that is not a model
    with pytest.raises(SystemExit) as exit_:
        main(["ship", str(run_dir), str(blocker)])
    assert exit_.value.code == 2 and "not a minischnet model" in capsys.readouterr().err
    assert blocker.read_text() == "mine"
    # nor the description's place beside it, nor a model named .json (its description would
    # overwrite it)
    notes = tmp_path / "model.json"
    notes.write_text('{"mine": 1}')
    for target in (tmp_path / "model.pt", notes):
        with pytest.raises(SystemExit):
            main(["ship", str(run_dir), str(target)])
    assert notes.read_text() == '{"mine": 1}' and not (tmp_path / "model.pt").exists()
    main(["ship", str(run_dir), str(tmp_path / "shipped.pt")])
    main(["ship", str(run_dir), str(tmp_path / "shipped.pt")])  # a model shipped again: fine


def test_test_fraction_0_trains_on_everything_and_reports_no_test_error(file_of_51, tmp_path):
    from minischnet.cli import main

    run_dir = tmp_path / "run"
    tiny = ["--features", "8", "--interactions", "1", "--rbf", "5", "--epochs", "1"]
    main(["train", "--data", str(file_of_51), "--run-dir", str(run_dir), *tiny])
    main(["train", "--data", str(file_of_51), "--run-dir", str(tmp_path / "all"), *tiny,
          "--test-fraction", "0"])  # fmt: skip
    held_out = json.loads((run_dir / "result.json").read_text())
    everything = json.loads((tmp_path / "all" / "result.json").read_text())
    assert everything["n_test"] == 0 and everything["test_energy_mae"] is None
    assert everything["n_train"] == held_out["n_train"] + held_out["n_test"] == 51 - 3
