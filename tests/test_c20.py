"""The shipped C20 data set: its size, its labels against GFN2-xTB itself, train/test apart."""

import importlib.util
import json

import numpy as np
import pytest

from minischnet.data import c20, c20_minimum, data_dir


@pytest.fixture(scope="module")
def train():
    return c20("train")


@pytest.fixture(scope="module")
def test_set():
    return c20("test")


@pytest.mark.artifacts
def test_sizes_and_metadata(train, test_set):
    assert len(train) >= 20_000 and len(test_set) >= 1_000
    assert np.all(train.Z == 6) and train.forces.shape == train.R.shape
    meta = json.loads((data_dir() / "c20" / "c20.json").read_text())
    assert meta["method"] == "GFN2-xTB" and meta["units"]["energy"] == "eV"
    assert meta["n_train"] == len(train) and meta["n_test"] == len(test_set)
    atoms = train[5]
    assert atoms.get_chemical_formula() == "C20"
    assert atoms.get_potential_energy() == train.energy[5]


needs_tblite = pytest.mark.skipif(
    importlib.util.find_spec("tblite") is None, reason="needs tblite (CI installs it)"
)


@pytest.mark.artifacts
@needs_tblite
def test_labels_are_gfn2_xtb(train, test_set):
    """Recompute a few samples with tblite: the stored energies and forces are its answers."""
    from tblite.ase import TBLite

    rng = np.random.default_rng(0)
    for ds in (train, test_set):
        for k in rng.choice(len(ds), 3, replace=False):
            atoms = ds[int(k)]
            stored_e, stored_f = atoms.get_potential_energy(), atoms.get_forces()
            atoms.calc = TBLite(method="GFN2-xTB", verbosity=0)
            assert atoms.get_potential_energy() == pytest.approx(stored_e, abs=1e-5)
            # SCF convergence of tblite's default settings, which also starts from the previous
            # structure's density when labelling a chunk in sequence: forces reproduce to
            # ~1e-4 eV/Å.
            np.testing.assert_allclose(atoms.get_forces(), stored_f, atol=5e-4)


@needs_tblite
def test_minimum_has_no_forces_and_samples_spread_around_it(train):
    from tblite.ase import TBLite

    atoms = c20_minimum()
    atoms.calc = TBLite(method="GFN2-xTB", verbosity=0)
    assert np.abs(atoms.get_forces()).max() < 1e-3
    above = train.energy - atoms.get_potential_energy()
    assert above.min() > -1e-6  # nothing below the minimum
    # zero-point motion: the harmonic bead potential energy is about half the ZPE, ~1.5 eV
    assert 0.8 < np.median(above) < 4.0


def test_train_and_test_do_not_share_configurations(train, test_set):
    a = train.R.reshape(len(train), -1)
    b = test_set.R.reshape(len(test_set), -1)
    d2 = (a**2).sum(1)[None, :] - 2 * b @ a.T + (b**2).sum(1)[:, None]
    assert np.sqrt(np.maximum(d2.min(), 0)) > 1e-3


def test_unknown_split():
    with pytest.raises(ValueError, match="split"):
        c20("validation")


def test_damaged_file_gives_a_clear_error(tmp_path, monkeypatch):
    (tmp_path / "c20").mkdir()
    good = (data_dir() / "c20" / "c20.npz").read_bytes()
    (tmp_path / "c20" / "c20.npz").write_bytes(good[: len(good) // 3])
    monkeypatch.setenv("MINISCHNET_DATA", str(tmp_path))
    with pytest.raises(ValueError, match="damaged"):
        c20("train")


@needs_tblite
def test_md_frames_obey_equipartition(train, test_set):
    """The sampling labels against physics: in classical MD at temperature T the mean potential
    energy above the minimum of C20's 3 * 20 - 6 = 54 vibrations is 54/2 kT (harmonic limit)."""
    from ase.units import kB
    from tblite.ase import TBLite

    from minischnet.data import c20_sampling

    atoms = c20_minimum()
    atoms.calc = TBLite(method="GFN2-xTB", verbosity=0)
    e_min = atoms.get_potential_energy()
    for ds, split, counts in (
        (train, "train", {"normal modes": 18000}),
        (test_set, "test", {"normal modes": 1000}),
    ):
        labels = c20_sampling(split)
        assert len(labels) == len(ds) and np.sum(labels == "normal modes") == counts["normal modes"]
        for T in (600, 900, 1200):
            above = ds.energy[labels == f"MD {T} K"] - e_min
            assert len(above) >= 300
            assert np.mean(above) / (27 * kB * T) == pytest.approx(
                1.0, abs=0.1
            )  # measured 0.95-1.04


def test_the_hessian_is_converged_at_its_scf_accuracy():
    """The shipped modes come from forces at tblite accuracy 0.01: the softest frequencies are
    the same for two finite-difference steps (at tblite's default they were not: 91 and 96
    against 125 and 127 cm^-1) and equal to the shipped modes.npz."""
    from minischnet.data.make_c20 import HESSIAN_ACCURACY, harmonic_modes, wavenumbers
    from minischnet.resources import find

    shipped = np.load(find("c20/modes.npz"))
    positions = np.load(find("c20/minimum.npz"))["positions"]
    assert float(shipped["accuracy"]) == HESSIAN_ACCURACY == 0.01
    small, large = (wavenumbers(harmonic_modes(positions, 0.01, h)[0]) for h in (1e-3, 5e-3))
    np.testing.assert_allclose(small[:3], large[:3], atol=0.5)  # cm^-1
    np.testing.assert_allclose(small, wavenumbers(shipped["omega"]), atol=1e-6)
    assert 120 < small[0] < 128  # the softest mode, converged
