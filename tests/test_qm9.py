"""QM9 from qm9pack: counts, known values, atom references, the fixed split, the cache."""

import concurrent.futures
import importlib
import importlib.util
import multiprocessing

import numpy as np
import pytest

from minischnet.data import atomization_energies, atomref_u0, qm9, qm9_split
from minischnet.resources import find

qm9_module = importlib.import_module(
    "minischnet.data.qm9"
)  # the module; minischnet.data.qm9 is the function

needs_qm9pack = pytest.mark.skipif(
    importlib.util.find_spec("qm9pack") is None, reason="needs qm9pack (CI installs it)"
)


@pytest.fixture(scope="module")
def ds():
    return qm9()


@needs_qm9pack
def test_counts_and_first_molecule(ds):
    assert len(ds) == 130_831
    assert len(set(ds.info["index"].tolist())) == 130_831
    assert ds.info["index"].max() == 133_885
    methane = ds[0]
    assert methane.info["index"] == 1 and methane.get_chemical_formula() == "CH4"
    assert methane.get_potential_energy() == pytest.approx(-40.47893 * 27.211386, rel=1e-12)
    assert methane.info["smiles"] == "C"
    # C-H bonds of methane are 1.09 Å
    d = np.linalg.norm(methane.positions[1:] - methane.positions[0], axis=1)
    np.testing.assert_allclose(d, 1.0919, atol=2e-3)
    assert ds.units["gap"] == "eV" and methane.info["gap"] == pytest.approx(0.5048 * 27.211386)


@needs_qm9pack
def test_atomization_energies(ds):
    ea = atomization_energies(ds)
    # CH4: U0 - (C + 4 H) = -40.47893 + 37.846772 + 4 * 0.500273 Ha
    assert ea[0] == pytest.approx((-40.47893 + 37.846772 + 4 * 0.500273) * 27.211386, rel=1e-10)
    assert np.all(ea < 0)  # every molecule is bound
    assert -120 < ea.min() < -100 and -10 < ea.max() < -5  # eV: about -2,600 to -200 kcal/mol
    assert set(np.unique(ds.Z)) == {1, 6, 7, 8, 9}
    assert atomref_u0()[8] == pytest.approx(-75.064579 * 27.211386)


def test_split_is_disjoint_nested_and_reproducible():
    test, val, train = qm9_split("test"), qm9_split("validation"), qm9_split("train")
    assert len(test) >= 10_000 and len(val) == 10_000 and len(train) == 110_000
    assert len(np.unique(np.concatenate([test, val, train]))) == 130_831
    np.testing.assert_array_equal(qm9_split("train", 1000), train[:1000])
    fresh = qm9_module.make_split()
    for part, positions in (("test", test), ("validation", val), ("train", train)):
        np.testing.assert_array_equal(fresh[part], positions)
    np.testing.assert_array_equal(qm9_split("validation", 1000), val[:1000])
    with pytest.raises(ValueError, match="n must be"):
        qm9_split("train", 200_000)
    with pytest.raises(ValueError, match="test set is always whole"):
        qm9_split("test", 1000)
    with pytest.raises(ValueError, match="part"):
        qm9_split("training")


@needs_qm9pack
def test_validation_subsets_are_random_not_the_smallest_molecules(ds):
    """QM9 is ordered by size: the first 1,000 validation molecules must be a random draw, whose
    mean size matches that of the whole data set within a few standard errors (about 0.1 atoms)."""
    n_atoms = np.diff(ds.start)
    first = n_atoms[qm9_split("validation", 1000)]
    assert abs(first.mean() - n_atoms.mean()) < 4 * n_atoms.std() / np.sqrt(1000)
    assert (
        n_atoms[np.sort(qm9_split("validation"))[:1000]].mean() < n_atoms.mean() - 1
    )  # what sorting did


@pytest.mark.artifacts
@needs_qm9pack
def test_split_file_holds_qm9_indices(ds):
    with np.load(find("qm9/split.npz")) as d:
        np.testing.assert_array_equal(d["test_qm9_index"], ds.info["index"][d["test"]])


@pytest.mark.slow
@needs_qm9pack
def test_damaged_cache_is_rebuilt_not_half_loaded(ds, tmp_path):
    good = qm9_module.cache_dir() / f"qm9_v{qm9_module.CACHE_VERSION}.npz"
    damaged = tmp_path / "qm9.npz"
    data = good.read_bytes()
    damaged.write_bytes(data[: len(data) // 2])  # truncated
    with pytest.warns(UserWarning, match="damaged"):
        again = qm9(cache=damaged)
    assert len(again) == 130_831 and again.energy[0] == ds.energy[0]
    assert damaged.stat().st_size == len(data)  # rewritten whole
    # A readable file that lacks molecules is refused too.
    with np.load(good) as d:
        arrays = {k: d[k] for k in d.files}
    arrays["index"] = arrays["index"][:10]
    partial = tmp_path / "partial.npz"
    np.savez(partial, **arrays)
    with pytest.warns(UserWarning, match="does not hold all of QM9"):
        assert len(qm9(cache=partial)) == 130_831


def _write_cache_repeatedly(path, times):
    arrays = {"x": np.arange(200_000, dtype=float)}
    for _ in range(times):
        qm9_module.write_cache(path, arrays)
    return True


def test_concurrent_cache_writers_do_not_collide(tmp_path):
    # Two runners started at once both build the cache (this crashed one of them:
    # both wrote the same temporary name, and the first rename took the other's file away).
    path = tmp_path / "cache.npz"
    ctx = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx) as pool:
        done = [pool.submit(_write_cache_repeatedly, path, 40) for _ in range(2)]
        assert all(f.result() for f in done)
    with np.load(path) as d:
        np.testing.assert_array_equal(d["x"], np.arange(200_000, dtype=float))
    assert [p.name for p in tmp_path.iterdir()] == ["cache.npz"]  # no temporary file left behind


def test_missing_qm9pack_says_how_to_install(monkeypatch):
    monkeypatch.setattr(qm9_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install \"minischnet\[qm9\]\""):
        qm9_module.qm9pack_csvs()
