"""The C20 RPMD study runs, resumes, and its classical limit has the closed-form kinetic energy."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from ase import units

import minischnet
from minischnet.md import block_error
from minischnet.nn.registry import weights_hash
from minischnet.studies.c20_rpmd import main, same_potential

RESULTS = Path(__file__).resolve().parents[1] / "data" / "results"


def test_study_runs_and_resumes(tmp_path):
    torch.manual_seed(0)
    model = minischnet.SchNet(16, 1, 10, 5.0).eval()
    minischnet.save(model, tmp_path / "m.pt")
    common = [
        "--model",
        str(tmp_path / "m.pt"),
        "--out",
        str(tmp_path / "out"),
        "--equilibrate",
        "10",
        "--chunk-steps",
        "20",
        "--record-every",
        "2",
        "--quiet",
    ]
    main(common + ["--steps", "40"])
    first = json.loads((tmp_path / "out" / "summary.json").read_text())
    main(common + ["--steps", "60"])
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert (
        first["P8"]["steps"] == 40 and summary["P8"]["steps"] == 60 and summary["P1"]["steps"] == 60
    )
    # P = 1: the centroid-virial estimator is exactly 3N kT / 2
    assert summary["P1"]["kinetic_cv_eV"][0] == pytest.approx(
        1.5 * 20 * units.kB * 300.0, rel=1e-12
    )
    saved = np.load(tmp_path / "out" / "P8.npz")
    assert (
        saved["beads"].sum() == 190 * 8 * (60 - 10) // 2
    )  # pairs x beads x recorded frames after equilibration
    assert (tmp_path / "out" / "distances.png").exists()
    # the bond-length series: one value per recorded frame after equilibration, and their mean is
    # the mean over the bead histogram restricted to bonds
    assert len(saved["bond_mean"]) == len(saved["kinetic_cv"]) == (60 - 10) // 2
    assert 1.3 < summary["P8"]["bond_length_mean_A"][0] < 1.6
    assert (
        summary["potential_id"].startswith("m.pt weights sha256:")
        and summary["model_info"]["epochs"] is None
    )
    # a new description of the same weights is the same potential: the run continues
    minischnet.save(model, tmp_path / "m.pt", note="described again")
    main(common + ["--steps", "60"])
    # so is the same file under another name (a model kept aside when a newer one is shipped)
    (tmp_path / "kept.pt").write_bytes((tmp_path / "m.pt").read_bytes())
    main(
        [a if a != str(tmp_path / "m.pt") else str(tmp_path / "kept.pt") for a in common]
        + ["--steps", "70"]
    )
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["P8"]["steps"] == 70
    # a trajectory is never continued with another model: that would mix two force fields
    torch.manual_seed(1)
    minischnet.save(minischnet.SchNet(16, 1, 10, 5.0).eval(), tmp_path / "m.pt")
    with pytest.raises(ValueError, match="another potential"):
        main(common + ["--steps", "80"])
    assert same_potential("GFN2-xTB (tblite)", "GFN2-xTB (tblite)") and not same_potential(
        "GFN2-xTB (tblite)", "m.pt weights sha256:ab"
    )


def test_resumed_study_equals_an_uninterrupted_one(tmp_path):
    """Stopped after 20 steps and run again to 50, the study writes bit for bit what one call to
    50 steps writes: histograms, every time series and the final state."""
    torch.manual_seed(0)
    minischnet.save(minischnet.SchNet(16, 1, 10, 5.0).eval(), tmp_path / "m.pt")

    def study(out, steps):
        main(["--model", str(tmp_path / "m.pt"), "--out", str(tmp_path / out), "--beads", "4",
              "--equilibrate", "6", "--chunk-steps", "10", "--record-every", "2", "--quiet",
              "--steps", str(steps)])  # fmt: skip

    study("resumed", 20)
    study("resumed", 50)
    study("once", 50)
    resumed = np.load(tmp_path / "resumed" / "P4.npz")
    once = np.load(tmp_path / "once" / "P4.npz")
    for key in ("beads", "centroids", "kinetic_cv", "potential", "bond_mean", "bond_std"):
        np.testing.assert_array_equal(resumed[key], once[key], err_msg=key)
    for key in ("state_q", "state_p", "state_rng", "state_step_count", "state_thermostat_work"):
        np.testing.assert_array_equal(resumed[key], once[key], err_msg=key)
    assert len(once["kinetic_cv"]) == (50 - 6) // 2


def test_c20_has_thirty_bonds():
    from minischnet.data import c20_minimum
    from minischnet.md import bond_statistics, bonds

    atoms = c20_minimum()
    i, j = bonds(atoms)
    assert len(i) == 30 and np.all(
        np.bincount(np.concatenate([i, j])) == 3
    )  # every carbon has three neighbours
    mean, spread = bond_statistics(atoms.positions[None, None], i, j)
    d = np.linalg.norm(atoms.positions[j] - atoms.positions[i], axis=1)
    assert mean[0] == pytest.approx(d.mean()) and spread[0] == pytest.approx(d.std())


@pytest.mark.requires("tblite")
def test_gfn2_reference_run(tmp_path):
    """--gfn2 drives the same study with tblite: its potential is GFN2-xTB's energy of the beads."""
    from tblite.ase import TBLite

    from minischnet.data import c20_minimum

    main(
        [
            "--gfn2",
            "--beads",
            "2",
            "--steps",
            "4",
            "--equilibrate",
            "0",
            "--chunk-steps",
            "4",
            "--record-every",
            "1",
            "--out",
            str(tmp_path),
            "--quiet",
        ]
    )
    saved = np.load(tmp_path / "P2.npz")
    q = saved["state_q"]  # (2, 20, 3) after 4 steps; the last recorded potential is theirs
    energies = []
    for bead in q:
        atoms = c20_minimum()
        atoms.positions = bead
        atoms.calc = TBLite(method="GFN2-xTB", verbosity=0)
        energies.append(atoms.get_potential_energy())
    assert saved["potential"][-1] == pytest.approx(np.mean(energies), abs=1e-6)


@pytest.mark.artifacts
def test_shipped_long_runs():
    """The 1.25 ns runs (data/results/c20_rpmd_long, as far as they have got) are driven by the
    C20 model of epoch 218 (c20_schnet_epoch218.pt), P = 1 has
    the classical kinetic energy, and P = 8 agrees with the GFN2-xTB RPMD of
    data/results/c20_rpmd_gfn2 (an independent potential) within three combined errors."""
    root = RESULTS
    model = minischnet.load(root.parent / "models" / "c20_schnet_epoch218.pt")
    runs = {P: np.load(root / "c20_rpmd_long" / f"P{P}.npz") for P in (1, 8)}
    for P, run in runs.items():
        assert (
            str(run["potential_id"]) == f"c20_schnet.pt weights sha256:{weights_hash(model)}"
        )  # its name then
        steps = int(run["state_step_count"])
        assert len(run["kinetic_cv"]) == (steps - 2000) // 10  # every 10th step after equilibration
        # C20 has 190 pairs; the histogram spans 1.0-4.6 Å, and the rare pair stretched past it
        # is not counted
        pairs = 190 * P * len(run["kinetic_cv"])
        assert pairs * (1 - 1e-6) < run["beads"].sum() <= pairs
    assert np.allclose(runs[1]["kinetic_cv"], 1.5 * 20 * units.kB * 300.0, rtol=1e-12, atol=0)
    gfn2 = json.loads((root / "c20_rpmd_gfn2" / "summary.json").read_text())["P8"]
    for key, series in (
        ("kinetic_cv_eV", "kinetic_cv"),
        ("bond_length_spread_A", "bond_std"),
        ("radius_of_gyration_A", "radius_of_gyration"),
    ):
        x = runs[8][series]
        assert abs(x.mean() - gfn2[key][0]) < 3 * np.hypot(block_error(x), gfn2[key][1]), key
    # nuclear quantum effects: the P = 8 bonds spread wider than the classical ones
    assert runs[8]["bond_std"].mean() > 1.2 * runs[1]["bond_std"].mean()
    summary = root / "c20_rpmd_long" / "summary.json"
    if summary.exists():  # the joint summary, written once both runs are finished
        written = json.loads(summary.read_text())
        for P in [P for P in (1, 8) if f"P{P}" in written]:
            assert written[f"P{P}"]["steps"] == int(runs[P]["state_step_count"])
            assert written[f"P{P}"]["kinetic_cv_eV"][0] == pytest.approx(
                runs[P]["kinetic_cv"].mean(), rel=1e-12
            )


@pytest.mark.artifacts
def test_shipped_check_run():
    """The check inside the dynamics (data/results/c20_rpmd_check: P = 8, 300 K, 5 ps) is driven by
    the shipped C20 model and agrees with the same RPMD on GFN2-xTB itself within three combined
    errors in every observable, the absolute potential energy included."""
    root = RESULTS
    model = minischnet.load(root.parent / "models" / "c20_schnet.pt")
    check = json.loads((root / "c20_rpmd_check" / "summary.json").read_text())
    gfn2 = json.loads((root / "c20_rpmd_gfn2" / "summary.json").read_text())
    assert check["potential_id"] == f"c20_schnet.pt weights sha256:{weights_hash(model)}"
    assert check["P8"]["steps"] == gfn2["P8"]["steps"] == 10000
    for key in (
        "kinetic_cv_eV",
        "bond_length_mean_A",
        "bond_length_spread_A",
        "radius_of_gyration_A",
        "potential_eV",
    ):
        (a, ea), (b, eb) = check["P8"][key], gfn2["P8"][key]
        assert abs(a - b) < 3 * np.hypot(ea, eb), key
