"""Fig. 4's partition study: its committed numbers are what the committed models give."""

import json
from pathlib import Path

import numpy as np
import pytest

import minischnet
from minischnet.data import n_formylformamide, qm9, qm9_split
from minischnet.interpret import energy_by_partner, removed_position
from minischnet.studies.partition_study import partition_row, reference_shell

pytestmark = [pytest.mark.requires("qm9pack", "tblite"), pytest.mark.artifacts]

ROOT = Path(__file__).parents[1]
STUDY = ROOT / "data" / "results" / "abb4_partition" / "partition.json"


@pytest.fixture(scope="module")
def study():
    return json.loads(STUDY.read_text())


def test_every_row_names_a_committed_model_and_its_training(study):
    for row in study["rows"]:
        model = minischnet.load(ROOT / row["model"])
        assert (row["n_train"], row["test_energy_mae"], row["epochs"]) == (
            model.info["n_train"],
            model.info["test_energy_mae"],
            model.info["epochs"],
        )
        assert row["gap_O_minus_C"] == pytest.approx(
            row["h_energy_mean"]["O"] - row["h_energy_mean"]["C"], abs=1e-12
        )


@pytest.fixture(scope="module")
def vacancy():
    """N-formylformamide without its N-H hydrogen, and where that hydrogen was."""
    mol, radical = n_formylformamide(qm9())
    return radical, removed_position(mol, radical)


@pytest.fixture(scope="module")
def reference(study, vacancy):
    """GFN2-xTB on the study's shells, computed again (about 20 s): the committed summary is its
    answer."""
    ref = reference_shell(
        n_formylformamide(qm9())[0],
        study["reference"]["shell_distance"],
        study["reference"]["points_per_atom"],
        vacancy=vacancy,
    )
    for key in ("min", "median", "max"):
        assert ref[key] == pytest.approx(study["reference"][key], abs=1e-5)
    assert ref["lowest_3_percent_nearest"] == study["reference"]["lowest_3_percent_nearest"]
    assert ref["vacancy"] == pytest.approx(study["reference"]["vacancy"], abs=1e-6)
    assert ref["patch_means"] == pytest.approx(study["reference"]["patch_means"], abs=1e-5)
    return ref


@pytest.mark.slow
def test_gfn2_xtb_puts_the_lowest_shell_points_beside_the_oxygens(study, reference):
    assert set(study["reference"]["lowest_3_percent_nearest"]) == {"O0", "O4"}
    # and on the whole: the oxygens' patches are the lowest two, by more than 0.4 eV over any other
    patches = sorted(study["reference"]["patch_means"].items(), key=lambda kv: kv[1])
    assert {patches[0][0], patches[1][0]} == {"O0", "O4"} and patches[2][1] - patches[1][1] > 0.4


def test_gfn2_xtb_puts_the_minimum_at_the_vacancy(study, reference):
    # without the N-H hydrogen the lowest shell point is where the hydrogen was, and the spot there
    # lies below all but a few hundredths of the shell
    assert study["reference"]["vacancy"]["minimum_distance"] < 0.5
    assert study["reference"]["vacancy"]["share_above"] > 0.95


SHIPPED = "data/models/qm9_schnet.pt"


def row_of(study, which):
    return (
        next(r for r in study["rows"] if r["model"] == SHIPPED)
        if which == "shipped"
        else study["rows"][which]
    )


@pytest.mark.parametrize("which", [0, "shipped", -1])
def test_a_row_is_reproduced_from_its_model(study, reference, vacancy, which):
    row = row_of(study, which)
    n = study["n_molecules"]
    ds = qm9()
    molecules = [ds[int(i)] for i in qm9_split("test")[:n]]
    model = minischnet.load(ROOT / row["model"])
    again = partition_row(
        model,
        molecules,
        n_formylformamide(ds)[0],
        distance=row["shell_distance"],
        reference=reference["energies"],
        vacancy=vacancy,
    )
    for partner in ("C", "N", "O"):
        assert again["h_energy_mean"][partner] == pytest.approx(
            row["h_energy_mean"][partner], abs=1e-4
        )
    assert again["lowest_3_percent_nearest"] == row["lowest_3_percent_nearest"]
    for key in ("masked_vs_reference", "insertion_vs_reference"):
        for kind in ("pearson", "spearman"):
            assert again[key][kind] == pytest.approx(row[key][kind], abs=1e-3)
    assert again["insertion_lowest_3_percent_nearest"] == row["insertion_lowest_3_percent_nearest"]
    assert again["vacancy"] == pytest.approx(row["vacancy"], abs=1e-3)
    assert again["patch_means"] == pytest.approx(row["patch_means"], abs=1e-4)
    assert again["lowest_patch"] == row["lowest_patch"]
    for kind in ("pearson", "spearman"):
        assert again["patch_means_vs_reference"][kind] == pytest.approx(
            row["patch_means_vs_reference"][kind], abs=1e-3
        )
    # and the means are those of energy_by_partner on the same molecules, by an independent count
    groups = energy_by_partner(model, molecules[:50], "H")
    assert sum(len(g) for g in groups.values()) == sum(
        int((m.numbers == 1).sum()) for m in molecules[:50]
    )


def test_the_shipped_model_shows_abb4_but_not_its_vacancy(study):
    # Fig. 4 with the shipped model (its numbers are recomputed from the model above), as
    # chapter 8 reads it: the patches of the shell nearest to the two oxygens are the lowest two,
    # as for GFN2-xTB, and most of the lowest 3 % of the shell lie beside an oxygen; the patch
    # order follows GFN2-xTB's. Without the N-H hydrogen the spot at its vacancy lies above half
    # of the shell, where GFN2-xTB puts it below 95 %; the learning curve's run at 110,000, from
    # the same initial weights, puts it low
    row = row_of(study, "shipped")
    patches = sorted(row["patch_means"], key=row["patch_means"].get)
    assert set(patches[:2]) == {"O0", "O4"}
    near = row["lowest_3_percent_nearest"]
    assert sum(n for atom, n in near.items() if atom[0] == "O") > 0.75 * sum(near.values())
    assert row["patch_means_vs_reference"]["spearman"] > 0.85
    assert row["vacancy"]["share_above"] < 0.5 < 0.95 < study["reference"]["vacancy"]["share_above"]
    other = next(r for r in study["rows"] if r["model"].endswith("schnet_T3_N110000/model.pt"))
    assert other["n_train"] == row["n_train"] and other["vacancy"]["share_above"] > 0.8


def test_too_few_molecules_is_a_clear_error():
    from ase.build import molecule

    model = minischnet.load(ROOT / "data" / "models" / "qm9_schnet.pt")
    with pytest.raises(ValueError, match="no hydrogen bonded to N, O"):
        partition_row(model, [molecule("CH4")], molecule("HCOOH"))
    acid = molecule("HCOOH")
    with pytest.raises(ValueError, match="reference has"):
        partition_row(
            model,
            [molecule("CH3OH"), molecule("CH3CONH2")],
            acid,
            points_per_atom=20,
            reference=np.zeros(3),
        )


SHELLS = ROOT / "data" / "results" / "abb4_partition" / "shells.json"


def test_shell_summary_and_figure_hold_the_studys_numbers():
    """Each summary line and each line of the figure comes from the shipped shells.json."""
    from minischnet.figures import model_label, shell_agreement_figure
    from minischnet.results import shell_summary

    study = json.loads(SHELLS.read_text())
    shells = [r["shell_distance"] for r in study["references"]]
    assert shells == [1.0, 1.25, 1.5, 1.75, 2.0] and len(study["rows"]) == 9 * len(shells)
    for line, reference in zip(shell_summary(study), study["references"]):
        rows = [r for r in study["rows"] if r["shell_distance"] == reference["shell_distance"]]
        patches = reference["patch_means"]
        assert line["gfn2_lowest_patch"] == min(patches, key=patches.get)
        rho = [r["patch_means_vs_reference"]["spearman"] for r in rows]
        assert line["spearman_patch_means"] == [np.median(rho), min(rho), max(rho)]
        assert line["models_with_that_lowest_patch"] == sum(
            r["lowest_patch"] == line["gfn2_lowest_patch"] for r in rows
        )
    fig = shell_agreement_figure(study)
    left, right = fig.axes
    model_lines = [line for line in left.lines if not line.get_label().startswith("_")]
    assert len(model_lines) == 9
    for line in model_lines:
        rows = [r for r in study["rows"] if model_label(r) == line.get_label()]
        assert len(rows) == len(shells)
        np.testing.assert_allclose(
            line.get_ydata(), [r["patch_means_vs_reference"]["spearman"] for r in rows]
        )
    gfn2 = next(line for line in right.lines if line.get_label() == "GFN2-xTB")
    np.testing.assert_allclose(
        gfn2.get_ydata(), [r["vacancy"]["share_above"] for r in study["references"]]
    )
