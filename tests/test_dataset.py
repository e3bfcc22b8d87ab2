"""Data sets from ASE files, round trips, batching from cached pair lists, bad input."""

import numpy as np
import pytest
import torch
from ase.build import bulk, molecule
from ase.calculators.singlepoint import SinglePointCalculator

import minischnet
from conftest import CUTOFF, small_params, torch_model
from minischnet.data import AtomsDataset


def labelled(structures, seed=0):
    rng = np.random.default_rng(seed)
    for a in structures:
        a.calc = SinglePointCalculator(a, energy=rng.normal(), forces=rng.normal(size=(len(a), 3)))
    return structures


@pytest.fixture
def dataset():
    crystal = bulk("NaCl", "rocksalt", a=5.6)
    crystal.rattle(0.05, seed=3)
    return AtomsDataset.from_atoms(
        labelled([molecule("H2O"), molecule("C6H6"), crystal, molecule("CH3OH")])
    )


# extxyz writes 8 decimals (1e-8 Å); an ASE database keeps float64 exactly.
@pytest.mark.parametrize("suffix, atol", [("extxyz", 1e-8), ("db", 0.0)])
def test_round_trip_through_ase_files(dataset, tmp_path, suffix, atol):
    path = tmp_path / f"set.{suffix}"
    dataset.write(path)
    back = AtomsDataset.read(path)
    assert len(back) == len(dataset) == 4
    np.testing.assert_array_equal(back.Z, dataset.Z)
    np.testing.assert_allclose(back.R, dataset.R, rtol=0, atol=atol)
    np.testing.assert_allclose(back.energy, dataset.energy, rtol=1e-15)
    np.testing.assert_allclose(back.forces, dataset.forces, rtol=0, atol=atol)
    np.testing.assert_allclose(back.cell, dataset.cell, rtol=0, atol=atol)
    np.testing.assert_array_equal(back.pbc, dataset.pbc)
    assert back[2].get_potential_energy() == pytest.approx(dataset.energy[2], rel=1e-15)


def test_items_are_atoms_with_reference_values(dataset):
    atoms = dataset[1]
    assert atoms.get_chemical_formula() == "C6H6"
    assert atoms.get_potential_energy() == dataset.energy[1]
    np.testing.assert_array_equal(atoms.get_forces(), dataset.forces[dataset.atoms_slice(1)])
    assert dataset[-1].get_chemical_formula() == molecule("CH3OH").get_chemical_formula()
    with pytest.raises(IndexError):
        dataset[4]


def test_batch_from_cache_equals_collate_and_one_by_one(dataset):
    model = torch_model("schnet", small_params("schnet"))
    order = [3, 0, 2]
    batch = dataset.batch(order, CUTOFF)
    reference = minischnet.collate([dataset[k] for k in order], CUTOFF)
    for name in ("Z", "R", "structure", "idx_i", "idx_j", "offsets", "n_atoms", "energy", "forces"):
        torch.testing.assert_close(
            getattr(batch, name), getattr(reference, name), rtol=0, atol=0, msg=name
        )
    E, F = model.energy_and_forces(batch)
    for pos, k in enumerate(order):
        e1, f1 = model.energy_and_forces(minischnet.collate([dataset[k]], CUTOFF))
        assert E[pos].item() == pytest.approx(e1.item(), rel=1e-12)
    assert dataset.pairs(CUTOFF) is dataset.pairs(CUTOFF)  # computed once
    sub = dataset.subset(order)
    assert [a.get_chemical_formula() for a in sub] == [
        dataset[k].get_chemical_formula() for k in order
    ]


def test_structure_without_energy_is_refused_for_training(tmp_path):
    path = tmp_path / "plain.extxyz"
    import ase.io

    ase.io.write(path, [molecule("H2O"), molecule("NH3")])
    assert AtomsDataset.read(path).energy is None
    with pytest.raises(ValueError, match="has no energy"):
        AtomsDataset.read(path, require_energy=True)


def test_mixed_labels_are_refused():
    structures = labelled([molecule("H2O"), molecule("NH3")])
    structures[1].calc = None
    with pytest.raises(ValueError, match="structure 1 has no energy"):
        AtomsDataset.from_atoms(structures)


def test_wrong_force_shape_is_refused():
    with pytest.raises(ValueError, match="forces have shape"):
        AtomsDataset(
            Z=[1, 1], R=np.zeros((2, 3)), start=[0, 2], energy=[0.0], forces=np.zeros((3, 3))
        )


def test_unknown_element_symbol(tmp_path):
    path = tmp_path / "bad.extxyz"
    path.write_text(
        '2\nProperties=species:S:1:pos:R:3 energy=-1.0 pbc="F F F"\nH 0 0 0\nXx 0 0 0.74\n'
    )
    with pytest.raises(ValueError, match="unknown element symbol 'Xx'"):
        AtomsDataset.read(path)


@pytest.fixture
def three_frames(tmp_path):
    """An extxyz file of three CH4 frames with energies and forces, and its lines."""
    import ase.io

    path = tmp_path / "good.extxyz"
    ase.io.write(path, labelled([molecule("CH4") for _ in range(3)]))
    return path, path.read_text().splitlines(keepends=True)


@pytest.mark.parametrize(
    "name, content, error, message",
    [
        ("cut_after_count.extxyz", lambda L: L[:8], ValueError,
         r"frame 1 \(counting from 0\) cannot be read: the file ends inside this frame"),
        ("cut_mid_frame.extxyz", lambda L: L[:12], ValueError,
         r"frame 1 \(counting from 0\) cannot be read: .*Frame has 3 atoms, expected 5"),
        ("count_too_large.extxyz", lambda L: L[:7] + ["6\n"] + L[8:14], ValueError,
         r"frame 1 .*Frame has 5 atoms, expected 6"),
        ("empty.extxyz", lambda L: [], ValueError, "is empty: no structures"),
        ("binary.extxyz", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), ValueError,
         r"is not a text file \(byte 0 is not UTF-8\)"),
        ("binary.bin", bytes(range(256)), ValueError, "ASE cannot tell what format"),
        ("json.xyz", lambda L: ['{"a": 1}\n'], ValueError,
         r"frame 0 \(counting from 0\) cannot be read: .*Expected xyz header"),
        ("no_energy_in_2.extxyz", lambda L: L[:14] + ["5\n", "\n"] + L[16:], ValueError,
         "structure 2 has no energy"),
    ],
)  # fmt: skip
def test_bad_files_name_the_file_the_frame_and_the_problem(
    three_frames, tmp_path, name, content, error, message
):
    """Each reader error is a ValueError that starts with the file's path."""
    _, lines = three_frames
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text("".join(content(lines)))
    with pytest.raises(error, match=message) as raised:
        AtomsDataset.read(path, require_energy=True)
    assert str(raised.value).startswith(str(path))


@pytest.mark.parametrize(
    "field, message",
    [
        ("energy", r"structure 1: its energy is nan, not a finite number"),
        ("forces", r"structure 1: its forces hold NaN or infinite numbers \(atom 2\)"),
        ("positions", r"structure 1: its positions hold NaN or infinite numbers \(atom 2\)"),
    ],
)
def test_a_nan_label_is_named_with_its_file_and_structure(tmp_path, field, message):
    """One NaN energy or force would make every loss after it NaN: refused when the file is read
    (it used to train on NaN and fail later without saying why)."""
    import ase.io

    structures = labelled([molecule("CH4") for _ in range(3)])
    results = structures[1].calc.results
    if field == "energy":
        results["energy"] = float("nan")
    elif field == "forces":
        results["forces"][2, 0] = np.inf
    else:
        structures[1].positions[2, 1] = np.nan
    path = tmp_path / "nan.extxyz"
    ase.io.write(path, structures)
    with pytest.raises(ValueError, match=message) as raised:
        AtomsDataset.read(path, require_energy=True)
    assert str(raised.value).startswith(str(path))


def test_a_missing_file_or_a_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no file at"):
        AtomsDataset.read(tmp_path / "missing.extxyz")
    with pytest.raises(ValueError, match="is a folder"):
        AtomsDataset.read(tmp_path)


def test_the_good_file_still_reads(three_frames):
    ds = AtomsDataset.read(three_frames[0], require_energy=True)
    assert len(ds) == 3 and ds.forces.shape == (15, 3)


def test_subset_counts_negative_indices_from_the_end_and_names_one_out_of_range():
    ds = AtomsDataset.from_atoms(labelled([molecule(m) for m in ("H2O", "NH3", "CH4")]))
    assert [a.get_chemical_formula() for a in ds.subset([-1, 0])] == ["CH4", "H2O"]
    assert ds[[-1]][0].get_chemical_formula() == "CH4"
    with pytest.raises(IndexError, match="structure 3 out of range for 3 structures"):
        ds.subset([0, 3])
