"""Shipped things by name, data found wherever minischnet is installed, nothing written into it.

The wheel itself is checked by ``.ci/installed`` (built, installed in a fresh environment, every
README block and notebook run from an empty folder); these tests check the rules it relies on.
"""

import importlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import minischnet
from minischnet import data, resources, results

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    """minischnet with no shipped data at all: an empty user folder, no clone, no package copy."""
    monkeypatch.setenv("MINISCHNET_DATA", str(tmp_path / "user"))
    monkeypatch.setattr(resources, "_CLONE", tmp_path / "clone")
    monkeypatch.setattr(resources, "_PACKAGE", tmp_path / "package")
    return tmp_path / "user"


def test_a_shipped_model_by_name_is_the_file_by_path():
    atoms = data.c20_minimum()
    energies = []
    for name in ("c20_schnet", ROOT / "data/models/c20_schnet.pt"):
        atoms.calc = minischnet.Calculator(minischnet.load(name))
        energies.append(atoms.get_potential_energy())
    assert energies[0] == energies[1]  # the same weights: bit for bit


def test_an_unknown_name_lists_the_shipped_models():
    with pytest.raises(FileNotFoundError, match="c20_schnet, c20_schnet_epoch218, .*qm9_schnet"):
        minischnet.load("c60_schnet")


def test_a_path_is_never_taken_for_a_name(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model file at"):
        minischnet.load("models/qm9_schnet.pt")  # a folder and a suffix: a path, not a name
    model = minischnet.SchNet(n_features=8, n_interactions=1, n_rbf=5)
    minischnet.save(model, tmp_path / "qm9_schnet")  # a file called like a shipped model
    loaded = minischnet.load(str(tmp_path / "qm9_schnet"))
    assert loaded.n_features == 8  # the file, not the shipped 64-feature model


def test_the_listing_matches_the_model_files():
    listing = resources.shipped_models()
    assert set(listing) == {"c20_schnet", "c20_schnet_epoch218", "materials_schnet", "qm9_schnet"}
    for name, entry in listing.items():
        info = minischnet.load(name).info
        assert entry["test_energy_mae"] == info["test_energy_mae"]
        assert entry["n_train"] == info["n_train"] and entry["data"] == info["data"]
    table = resources.models_table()
    assert "qm9_schnet           qm9        110000" in table
    assert f"{1000 * listing['c20_schnet']['test_force_mae']:.1f}" in table  # meV/Å


def test_user_data_shadow_the_shipped_data(nowhere, monkeypatch):
    """A data set you made (here two C20 structures) is read instead of the shipped one."""
    monkeypatch.setattr(resources, "_CLONE", ROOT / "data")
    R = np.random.default_rng(0).normal(size=(2, 20, 3))
    (nowhere / "c20").mkdir(parents=True)
    np.savez(nowhere / "c20" / "c20.npz", train_R=R, train_E=[-1.5, -2.5], train_F=-R)
    mine = data.c20("train")
    assert len(mine) == 2 and list(mine.energy) == [-1.5, -2.5]
    with pytest.raises(ValueError, match="damaged"):
        data.c20("test")  # this file has no test split, and says so
    assert resources.find("c20/minimum.npz").parent == ROOT / "data" / "c20"  # the rest: shipped


def test_missing_data_say_which_install_brings_them(nowhere):
    with pytest.raises(FileNotFoundError) as e:
        data.c20("train")
    message = str(e.value)
    assert "pip install minischnet" in message
    assert f"python -m minischnet.data.make_c20 --out {nowhere / 'c20'}" in message
    for loader in (data.c20_minimum, data.materials, data.materials_metadata):
        with pytest.raises(FileNotFoundError, match="pip install minischnet"):
            loader()
    with pytest.raises(FileNotFoundError, match="pip install minischnet"):
        data.qm9_split("test")
    with pytest.raises(FileNotFoundError, match="pip install minischnet"):
        results.read("ipi_crosscheck.json")
    with pytest.raises(FileNotFoundError, match="the shipped models are none"):
        minischnet.load("qm9_schnet")
    assert results.finished_rpmd_study() is None


def test_user_and_cache_folders_follow_the_platform(monkeypatch, tmp_path):
    monkeypatch.delenv("MINISCHNET_DATA", raising=False)
    monkeypatch.delenv("MINISCHNET_CACHE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    if sys.platform.startswith("linux"):
        assert resources.user_dir() == tmp_path / "share" / "minischnet"
        assert resources.cache_dir() == tmp_path / "cache" / "minischnet"
    monkeypatch.setenv("MINISCHNET_DATA", str(tmp_path / "mine"))
    monkeypatch.setenv("MINISCHNET_CACHE", str(tmp_path / "qm9cache"))
    assert resources.user_dir() == tmp_path / "mine"
    assert resources.cache_dir() == tmp_path / "qm9cache"
    assert resources.search_path()[0] == tmp_path / "mine"


def test_nothing_is_written_into_the_package(nowhere):
    """Every recipe writes into the user folder by default, never next to the code."""
    from minischnet.data import make_c20, make_materials

    for module, name in ((make_c20, "c20"), (make_materials, "materials")):
        source = Path(module.__file__).read_text()
        assert 'default=user_dir() / "' + name + '"' in source
    qm9_module = importlib.import_module("minischnet.data.qm9")  # the split: user_dir()/qm9

    assert qm9_module.write_split.__defaults__ == (None, None)
    assert resources.user_dir() == nowhere


def test_results_by_name():
    crosscheck = results.read("ipi_crosscheck.json")
    assert crosscheck == json.loads((ROOT / "data/results/ipi_crosscheck.json").read_text())
    rows = results.read("learning_curve/learning_curve.csv")
    assert rows == results.read_rows(ROOT / "data/results/learning_curve/learning_curve.csv")
    assert results.finished_rpmd_study() == ROOT / "data/results/c20_rpmd_long"
    with pytest.raises(ValueError, match="a .json or .csv result"):
        results.read("c20_rpmd_long/P8.npz")


def test_tutorials_are_handed_out_without_overwriting(tmp_path):
    copied, kept = resources.copy_tutorials(tmp_path / "course")
    names = sorted(p.name for p in copied)
    assert names == sorted(p.name for p in (ROOT / "tutorials").glob("*.ipynb")) + [
        "nbval_sanitize.cfg"
    ]
    assert len(names) == 9 and not kept
    mine = tmp_path / "course" / "03_dtnn.ipynb"
    mine.write_text("a student's work")
    copied, kept = resources.copy_tutorials(tmp_path / "course")
    assert not copied and mine in kept and mine.read_text() == "a student's work"


def test_view3d_without_py3dmol_says_how_to_get_it(monkeypatch):
    from ase.build import molecule

    from minischnet.figures import view3d

    monkeypatch.setitem(sys.modules, "py3Dmol", None)  # as if it were not installed
    with pytest.raises(ModuleNotFoundError, match=r"pip install py3Dmol .*minischnet\[tutorials\]"):
        view3d(molecule("CH4"))


def test_the_wheel_lists_every_package_and_data_folder():
    """A folder left out of pyproject's package list would be missing from the wheel."""
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = set(config["packages"])
    code = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "minischnet").rglob("__init__.py")
    }
    assert code <= packages
    shipped = {
        "minischnet._data." + ".".join(p.parent.relative_to(ROOT / "data").parts)
        for p in (ROOT / "data").glob("*/*")
        if p.suffix in (".json", ".csv", ".npz") and "runs" not in p.parts
    } | {
        "minischnet._data.results." + p.parent.name
        for p in (ROOT / "data/results").glob("*/*")
        if p.suffix in (".json", ".csv", ".npz")
    }
    assert shipped <= packages, shipped - packages
    for package in packages - code - {"minischnet._static", "minischnet._tutorials"}:
        folder = ROOT / "data" / Path(*package.split(".")[2:])
        assert folder.is_dir(), package


def test_plus_minus_rounds_the_value_to_the_errors_digits():
    assert results.plus_minus(1.5654215, 0.00021541) == "1.5654 ± 0.0002"
    assert results.plus_minus(1.5654215, 0.00021541, significant=2) == "1.56542 ± 0.00022"
    assert results.plus_minus(-1146.50085, 0.0124) == "-1146.50 ± 0.01"
    assert results.plus_minus(1253.4, 37.0) == "1253 ± 37"
    assert results.plus_minus(0.776, 0.0) == "0.776 ± 0"  # an exact zero is not hidden
