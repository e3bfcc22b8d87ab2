"""The crystal data set (Fig. 5): its size and coverage, its numbers recomputed with tblite."""

import json

import numpy as np
import pytest

from minischnet.data import data_dir, materials
from minischnet.data.make_materials import all_structures, supercell_energy


@pytest.fixture(scope="module")
def crystals():
    return materials()


@pytest.fixture(scope="module")
def meta():
    return json.loads((data_dir() / "materials" / "materials.json").read_text())


@pytest.mark.artifacts
def test_size_and_coverage(crystals, meta):
    assert len(crystals) >= 10_000 and len(crystals) == meta["n_structures"]
    assert len(np.unique(crystals.Z)) >= 50 and len(meta["elements"]) >= 50
    assert np.all(crystals.pbc) and crystals.cell.shape == (len(crystals), 3, 3)
    # formation energy per cell = per atom x atoms, and every failed SCF is listed, not kept
    np.testing.assert_allclose(
        crystals.energy,
        crystals.info["formation_energy_per_atom"] * np.diff(crystals.start),
        rtol=1e-12,
    )
    assert not set(meta["failed_scf_index"]) & set(crystals.info["index"].tolist())
    assert len(set(crystals.info["index"].tolist())) == len(crystals)  # each structure once


@pytest.mark.artifacts
@pytest.mark.requires("tblite")
@pytest.mark.slow
def test_energies_recomputed_with_tblite(crystals, meta):
    """Three random structures: GFN1-xTB energy of the 2x2x2 supercell / 8, and the formation
    energy."""
    structures = all_structures(meta["variants"], meta["seed"])
    rng = np.random.default_rng(1)
    for k in rng.choice(len(crystals), 3, replace=False):
        name, atoms, _ = structures[crystals.info["index"][k]]
        assert name == crystals.info["name"][k]
        np.testing.assert_allclose(crystals[k].positions, atoms.positions, atol=1e-12)
        energy, _ = supercell_energy(atoms)
        assert energy == pytest.approx(crystals.info["total_energy"][k], abs=1e-6)
        reference = sum(
            meta["elemental_references_eV_per_atom"][s] for s in atoms.get_chemical_symbols()
        )
        assert crystals.energy[k] == pytest.approx(energy - reference, abs=1e-6)


@pytest.mark.artifacts
def test_references_and_plausibility_window(crystals, meta):
    """Molecular elements are referenced to their relaxed diatomic molecule where it is lower, the
    kept cells lie inside the recorded window, and what fell outside is listed, not kept."""
    from minischnet.data.make_materials import molecule_reference

    assert meta["molecule_references_eV_per_atom"]["O"] == pytest.approx(
        molecule_reference("O"), abs=1e-6
    )
    for element, e in meta["elemental_references_eV_per_atom"].items():
        candidates = [meta["crystal_references_eV_per_atom"][element]]
        candidates += (
            [meta["molecule_references_eV_per_atom"][element]]
            if element in meta["molecule_references_eV_per_atom"]
            else []
        )
        assert e == min(candidates)
    assert (
        np.abs(crystals.info["formation_energy_per_atom"]).max()
        <= meta["max_formation_eV_per_atom"]
    )
    assert meta["n_implausible"] == len(meta["implausible_index"]) > 0
    assert not set(meta["implausible_index"]) & set(crystals.info["index"].tolist())


@pytest.mark.artifacts
@pytest.mark.slow
def test_shipped_model_recorded_error_is_true(crystals):
    """The crystal model's test MAE per atom, recomputed on exactly the crystals it names as its
    test set."""
    import minischnet
    from minischnet.train import evaluate

    model = minischnet.load(data_dir() / "models" / "materials_schnet.pt")
    test = np.asarray(model.info["split"]["test"])
    assert (
        len(test) == model.info["n_test"]
        and not np.intersect1d(test, model.info["split"]["train"]).size
    )
    errors = evaluate(model, crystals, test, forces=False)
    assert errors["energy_mae_per_atom"] == pytest.approx(
        model.info["test_energy_mae_per_atom"], rel=1e-4
    )
    assert (
        sorted(model.info["elements"])
        == sorted(
            meta_elements := json.loads((data_dir() / "materials" / "materials.json").read_text())[
                "elements"
            ]
        )
        and len(meta_elements) >= 50
    )
