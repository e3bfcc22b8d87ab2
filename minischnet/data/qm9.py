"""QM9 (Ramakrishnan et al., Sci. Data 1, 140022 (2014)), offline, from the PyPI package qm9pack.

    ds = minischnet.data.qm9()         # 130,831 molecules; first call parses (about a minute),
                                       # then cached
    ds[0]                              # ase.Atoms of CH4; get_potential_energy() is U0 in eV
    ds[0].info["index"], ds.info["smiles"][0], ds.info["gap"][0]

qm9pack ships QM9 as CSV without the 3,054 molecules whose geometry check failed. Its
``__init__`` imports ``pkg_resources`` (gone from current setuptools), so we never import it:
we find its files with ``importlib.util.find_spec`` and read the CSVs ourselves.

Units: positions Å; U0, U, H, G, HOMO, LUMO, gap, ZPVE in eV (1 Ha = 27.211386 eV); dipole moment
in Debye, polarizability in bohr^3, <R^2> in bohr^2, Cv in cal/(mol K), rotational constants in GHz.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import warnings
import zipfile
from pathlib import Path

import numpy as np

from .._atomic import atomic_write
from ..resources import cache_dir, find, user_dir
from .dataset import AtomsDataset
from .paths import read_npz

HARTREE = 27.211386  # eV
N_MOLECULES = 130_831
CACHE_VERSION = 1

#: B3LYP/6-31G(2df,p) energies of the free atoms (U0, Hartree), from the QM9 paper's atomref table.
ATOMREF_U0_HARTREE = {1: -0.500273, 6: -37.846772, 7: -54.583861, 8: -75.064579, 9: -99.718730}

SYMBOLS = {"H": 1, "C": 6, "N": 7, "O": 8, "F": 9}

# (name in minischnet, CSV column, factor to our unit, unit)
PROPERTIES = [
    ("U0", "InternalEnergy_0K_au", HARTREE, "eV"),
    ("U", "InternalEnergy_298K_au", HARTREE, "eV"),
    ("H", "Enthalphy_298K_au", HARTREE, "eV"),
    ("G", "GibbsFreeEnergy_298K_au", HARTREE, "eV"),
    ("homo", "HOMO_au", HARTREE, "eV"),
    ("lumo", "LUMO_au", HARTREE, "eV"),
    ("gap", "HOMO_LUMO_gap_au", HARTREE, "eV"),
    ("zpve", "ZPVE_au", HARTREE, "eV"),
    ("mu", "Dipole_debye", 1.0, "Debye"),
    ("alpha", "Polarizability_bohr3", 1.0, "bohr^3"),
    ("r2", "R2_bohr2", 1.0, "bohr^2"),
    ("cv", "Heatcapacity_Cv_cal_mol_K", 1.0, "cal/(mol K)"),
    ("A", "RotA_GHz", 1.0, "GHz"),
    ("B", "RotB_GHz", 1.0, "GHz"),
    ("C", "RotC_GHz", 1.0, "GHz"),
]
UNITS = {name: unit for name, _, _, unit in PROPERTIES}


def atomref_u0(max_z: int = 100) -> np.ndarray:
    """Free-atom U0 in eV, indexed by element number (zero for elements not in QM9)."""
    ref = np.zeros(max_z + 1)
    for z, e in ATOMREF_U0_HARTREE.items():
        ref[z] = e * HARTREE
    return ref


def qm9pack_csvs() -> list[Path]:
    """The CSV files of the installed qm9pack, found without importing it."""
    spec = importlib.util.find_spec("qm9pack")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "QM9 comes from the PyPI package qm9pack (about 100 MB, offline afterwards): "
            'pip install "minischnet[qm9]"   (in a clone: pip install -e ".[qm9]")'
        )
    folder = Path(list(spec.submodule_search_locations)[0]) / "data"
    files = [folder / f"qm9_part{k}.csv" for k in (1, 2, 3)]
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        raise FileNotFoundError(
            f"qm9pack is installed but its data files are missing: {missing}; reinstall it"
        )
    return files


def _parse_csvs(files) -> dict:
    Z, R, counts, index, smiles = [], [], [], [], []
    props = {name: [] for name, *_ in PROPERTIES}
    for path in files:
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                symbols = row["Elements"].strip("[]").replace("'", "").split(",")
                try:
                    z = [SYMBOLS[s.strip()] for s in symbols]
                except KeyError as e:
                    raise ValueError(
                        f"{path.name}, molecule {row['Index']}: unknown element symbol {e}"
                    ) from None
                xyz = np.array(
                    row["XYZ_Ang"].replace("[", "").replace("]", "").split(","), dtype=np.float64
                )
                if xyz.size != 3 * len(z) or len(z) != int(row["N_atoms"]):
                    raise ValueError(
                        f"{path.name}, molecule {row['Index']}: "
                        f"{len(z)} elements but {xyz.size} coordinates"
                    )
                Z.extend(z)
                R.append(xyz.reshape(-1, 3))
                counts.append(len(z))
                index.append(int(row["Index"]))
                smiles.append(row["SMILES"])
                for name, column, factor, _ in PROPERTIES:
                    props[name].append(float(row[column]) * factor)
    order = np.argsort(index, kind="stable")
    counts = np.array(counts)
    start = np.concatenate([[0], np.cumsum(counts)])
    rows = np.concatenate([np.arange(start[k], start[k + 1]) for k in order])
    Z, R = np.array(Z, dtype=np.int8)[rows], np.concatenate(R)[rows]
    arrays = dict(
        version=np.array(CACHE_VERSION),
        Z=Z,
        R=R,
        start=np.concatenate([[0], np.cumsum(counts[order])]),
        index=np.array(index)[order],
        smiles=np.array(smiles)[order],
    )
    arrays.update({f"prop_{name}": np.array(v)[order] for name, v in props.items()})
    return arrays


def _load_cache(path: Path) -> dict | None:
    """The cached arrays, or None (with a warning) if the file is damaged, partial or outdated."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as d:
            arrays = {k: d[k] for k in d.files}
        n = len(arrays["index"])
        ok = (
            int(arrays["version"]) == CACHE_VERSION
            and n == N_MOLECULES
            and arrays["start"].shape == (n + 1,)
            and arrays["start"][-1] == len(arrays["Z"]) == len(arrays["R"])
            and all(arrays[f"prop_{name}"].shape == (n,) for name, *_ in PROPERTIES)
        )
        if ok:
            return arrays
        problem = "it does not hold all of QM9"
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        problem = f"it cannot be read ({type(e).__name__}: {e})"
    warnings.warn(
        f"QM9 cache {path} is damaged ({problem}); rebuilding it from qm9pack", stacklevel=3
    )
    return None


def write_cache(path: Path, arrays: dict) -> None:
    """Write the cache so that a reader never sees half a file, even with several writers.

    Two learning-curve runners started at once both build the cache: each writes its own
    temporary file and renames it into place (``atomic_write``), the last rename wins and
    both files are whole.
    """
    with atomic_write(path) as f:
        np.savez(f, **arrays)


def qm9(cache: Path | str | None = None) -> AtomsDataset:
    """All 130,831 QM9 molecules; energies are U0 in eV, other properties in ``ds.info`` (see
    UNITS)."""
    path = Path(cache) if cache is not None else cache_dir() / f"qm9_v{CACHE_VERSION}.npz"
    arrays = _load_cache(path)
    if arrays is None:
        arrays = _parse_csvs(qm9pack_csvs())
        write_cache(path, arrays)
    info = {"index": arrays["index"], "smiles": arrays["smiles"]}
    info.update({name: arrays[f"prop_{name}"] for name, *_ in PROPERTIES if name != "U0"})
    ds = AtomsDataset(
        arrays["Z"], arrays["R"], arrays["start"], energy=arrays["prop_U0"], info=info, name="QM9"
    )
    ds.units = dict(UNITS)
    ds.free_atom_energies = atomref_u0()  # for training on atomization energies (--atomref free)
    return ds


def atomization_energies(ds: AtomsDataset) -> np.ndarray:
    """U0 minus the free-atom references, eV per molecule (negative: bound)."""
    ref = atomref_u0()[ds.Z]
    return ds.energy - np.add.reduceat(ref, ds.start[:-1])


# ---------------------------------------------------------------------------------------------
# The fixed split. Every model of this project is tested on exactly the same held-out molecules.

SPLIT_SEED = 0
N_TEST = 10_831  # 130,831 - 120,000
N_VALIDATION = 10_000
N_TRAIN = 110_000
LEARNING_CURVE_SIZES = (1_000, 2_000, 5_000, 10_000, 25_000, 50_000, 110_000)


def n_formylformamide(qm9_set=None):
    """N-formylformamide (O=CNC=O) from QM9, the molecule of Fig. 4, and the same molecule
    without the hydrogen on nitrogen (the radical of Fig. 4's second panel)."""
    qm9_set = qm9() if qm9_set is None else qm9_set
    k = int(np.flatnonzero(qm9_set.info["smiles"] == "O=CNC=O")[0])
    mol = qm9_set[k]
    n = int(np.flatnonzero(mol.numbers == 7)[0])
    hydrogens = np.flatnonzero(mol.numbers == 1)
    h_on_n = int(hydrogens[np.argmin(mol.get_distances(n, hydrogens))])
    return mol, mol[[i for i in range(len(mol)) if i != h_on_n]]


def make_split(seed: int = SPLIT_SEED) -> dict:
    """Positions (0-based, in ``qm9()`` order) of test, validation and train.

    Validation and train stay in draw order, so their first n are a random subset and the
    subsets nest. (Sorted, the first 1,000 validation molecules would be the smallest ones: QM9
    is ordered by size, and a validation set of small molecules misjudges a model.)
    """
    perm = np.random.default_rng(seed).permutation(N_MOLECULES)
    return {
        "test": np.sort(perm[:N_TEST]),
        "validation": perm[N_TEST : N_TEST + N_VALIDATION],  # in draw order
        "train": perm[N_TEST + N_VALIDATION :],  # in draw order: the first N are the N-subset
    }


SPLIT_RECIPE = "python -m minischnet.data.qm9  (needs qm9pack; writes user_dir()/qm9/split.npz)"


def qm9_split(part: str, n: int | None = None) -> np.ndarray:
    """Positions of a part of the fixed split: "test", "validation" or "train" (their first n).

    Read from data/qm9/split.npz, which also holds each molecule's QM9 index
    (``{part}_qm9_index``) so a shipped model can be re-evaluated on exactly its test set.
    """
    if part not in ("train", "validation", "test"):
        raise ValueError(f"part must be 'train', 'validation' or 'test', got {part!r}")
    positions = read_npz(find("qm9/split.npz", SPLIT_RECIPE), SPLIT_RECIPE, [part])[part]
    if n is not None:
        if part == "test":
            raise ValueError(
                "n selects a nested random subset of 'train' or 'validation'; "
                "the test set is always whole"
            )
        if not 0 < n <= len(positions):
            raise ValueError(f"n must be in 1..{len(positions)}, got {n}")
        positions = positions[:n]
    return positions


def write_split(out: Path | str | None = None, ds: AtomsDataset | None = None) -> Path:
    """Write ``out/split.npz`` (positions and QM9 indices; ``out`` defaults to user_dir()/qm9).
    ``python -m minischnet.data.qm9 --out data/qm9`` made the shipped one."""
    ds = ds or qm9()
    split = make_split()
    path = Path(out or user_dir() / "qm9") / "split.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = dict(split, seed=np.array(SPLIT_SEED))
    arrays.update({f"{k}_qm9_index": ds.info["index"][v] for k, v in split.items()})
    np.savez_compressed(path, **arrays)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description="Write the fixed QM9 split (seed 0).")
    parser.add_argument("--out", type=Path, default=None, help="folder (default: user_dir()/qm9)")
    print(f"wrote {write_split(parser.parse_args(argv).out)}")


if __name__ == "__main__":
    main()
