"""Interpretation: local chemical potentials with a probe the molecule cannot feel."""

import importlib.util

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import molecule
from test_symmetry import random_rotation

import minischnet
from conftest import CUTOFF, small_params, torch_model
from minischnet import reference
from minischnet.interpret import local_potential, probe_surface
from minischnet.neighbors import neighbor_pairs


@pytest.fixture
def model(model_kind):
    return torch_model(model_kind, small_params(model_kind))


def reference_atom_energies(kind, params, Z, R, deaf_to=None):
    """Atom-wise energies (eq. 3) by the reference, written out here with its own pair list; the
    messages sent by atom ``deaf_to`` to the others are dropped (a probe nobody feels)."""
    i, j, _ = neighbor_pairs(R, CUTOFF)  # ordered pairs: the message j -> i
    if deaf_to is not None:
        keep = ~((j == deaf_to) & (i != deaf_to))
        i, j = i[keep], j[keep]
    interaction, activation = reference.MODELS[kind]
    d = reference.pair_distances(R, i, j, np.zeros((len(i), 3)))
    rbf = reference.gaussian_expansion(d, params["rbf_centers"], params["rbf_gamma"])
    fcut = reference.cosine_cutoff(d, params["cutoff"])
    x = params["embedding"][Z]
    for t in range(reference.n_interactions(params)):
        x = x + interaction(params, t, x, rbf, fcut, i, j)
    return reference.atomwise_energies(params, x, Z, activation)


def test_probe_potential_is_the_reference_with_the_probe_unheard(model_kind, rng):
    """The truth: the reference with every message from the probe to the molecule removed."""
    params = small_params(model_kind)
    model = torch_model(model_kind, params)
    mol = molecule("HCOOH")
    points = mol.positions.mean(axis=0) + rng.normal(0, 1.5, (6, 3))
    Z = np.append(mol.numbers, 1)
    truth = [
        reference_atom_energies(
            model_kind, params, Z, np.vstack([mol.positions, p]), deaf_to=len(mol)
        )[-1]
        for p in points
    ]
    np.testing.assert_allclose(local_potential(model, mol, points, batch_size=4), truth, rtol=1e-12)
    # an ordinary hydrogen at the same place, heard by the molecule, has another energy (T = 2)
    heard = [
        reference_atom_energies(model_kind, params, Z, np.vstack([mol.positions, p]))[-1]
        for p in points
    ]
    assert np.abs(np.subtract(heard, truth)).max() > 1e-3
    # and the model itself is left as it was: no hooks remain
    assert all(not block._forward_hooks for block in model.interactions)


def test_invariant_under_rotating_molecule_and_probe_together(model, rng):
    mol = molecule("CH3CHO")
    points = mol.positions.mean(axis=0) + rng.normal(0, 2.0, (50, 3))
    V = local_potential(model, mol, points)
    Q = random_rotation(rng)
    turned = mol.copy()
    turned.positions = mol.positions @ Q.T + 3.0
    np.testing.assert_allclose(
        local_potential(model, turned, points @ Q.T + 3.0, batch_size=7), V, rtol=1e-10
    )
    assert V.std() > 1e-3  # the potential does vary in space


def test_far_away_probe_is_a_free_atom(model):
    mol = molecule("H2O")
    far = local_potential(model, mol, [[0.0, 0.0, CUTOFF + 5.0]], probe="O")[0]
    free = model.atom_energies(minischnet.collate([(np.array([8]), np.zeros((1, 3)))], CUTOFF))[
        0
    ].item()
    assert far == pytest.approx(free, rel=1e-12)
    with pytest.raises(ValueError, match="points"):
        local_potential(model, mol, np.zeros((4, 2)))


def test_probe_surface_is_a_shell_at_the_given_distance():
    from minischnet.interpret import probe_surface

    mol = molecule("CH3CHO")
    points = probe_surface(mol, distance=1.8, points_per_atom=200)
    nearest = np.linalg.norm(points[:, None] - mol.positions[None], axis=-1).min(axis=1)
    np.testing.assert_allclose(nearest, 1.8, atol=1e-9)
    assert len(points) > 300
    # closed around the molecule: points in every direction from the centre
    directions = points - mol.positions.mean(axis=0)
    assert np.all(directions.max(axis=0) > 1.8) and np.all(directions.min(axis=0) < -1.8)


def test_discrete_filters_jump_continuous_ones_do_not(model):
    from minischnet.interpret import bond_scan, discretized

    mol = molecule("CO")
    distances = np.linspace(1.0, 1.5, 501)  # 1 mÅ steps
    smooth = np.abs(np.diff(bond_scan(model, mol, 0, 1, distances)))
    steps = np.abs(np.diff(bond_scan(discretized(model, 0.1), mol, 0, 1, distances)))
    assert smooth.max() < 5 * np.median(smooth) + 1e-12  # no step: changes scale with the step size
    # the discrete one is flat between grid midpoints and jumps at them (1.05, 1.15, ...)
    jumps = np.nonzero(steps > 1e-9)[0]
    np.testing.assert_allclose(distances[jumps], [1.05, 1.15, 1.25, 1.35, 1.45], atol=1.5e-3)
    assert steps.max() > 50 * smooth.max()


def test_embedding_pca_recovers_planted_structure():
    from minischnet.interpret import embedding_pca

    model = minischnet.SchNet(n_features=8, n_interactions=1, n_rbf=4, cutoff=3.0, max_z=10)
    plane = np.array([[1.0, 0], [2, 0], [0, 3], [0, 4], [-2, -2]])
    basis = np.linalg.qr(np.random.default_rng(0).normal(size=(8, 2)))[
        0
    ]  # orthonormal 2-D subspace
    with torch.no_grad():
        model.embedding.weight[[1, 6, 7, 8, 9]] = torch.tensor(plane @ basis.T, dtype=torch.float32)
    coords, explained = embedding_pca(model, ["H", "C", "N", "O", "F"])
    assert explained.sum() == pytest.approx(1.0, abs=1e-6)  # the data lie in a plane
    # distances between elements are those of the planted points
    d_pca = np.linalg.norm(coords[:, None] - coords[None], axis=-1)
    d_true = np.linalg.norm(plane[:, None] - plane[None], axis=-1)
    np.testing.assert_allclose(d_pca, d_true, atol=1e-5)


def test_ordering_and_group_clustering_on_planted_coordinates():
    """Known answers: alkali metals on a line in order (1), shuffled (below 1), reversed (-1);
    groups planted as tight clusters give a ratio far below 1, a random layout about 1."""
    from minischnet.interpret import group_clustering, ordering

    alkali = ["H", "Li", "Na", "K", "Rb", "Cs"]
    line = np.c_[np.arange(6.0), 0.1 * np.sin(np.arange(6.0))]
    assert ordering(line, alkali, alkali) == pytest.approx(1.0)
    assert ordering(line[::-1], alkali, alkali) == pytest.approx(
        1.0
    )  # the line runs from first to last member
    swapped = line[[0, 2, 1, 3, 4, 5]]  # Li and Na exchanged
    assert ordering(swapped, alkali, alkali) == pytest.approx(
        1 - 6 * 2 / (6 * 35)
    )  # Spearman, one swap
    assert np.isnan(ordering(line, alkali, ["Be", "Mg", "H"]))  # only one member present
    elements = ["Li", "Na", "K", "F", "Cl", "Br", "O", "S", "Se"]  # groups 1, 17, 16
    centres = {1: (0, 0), 17: (10, 0), 16: (0, 10)}
    rng = np.random.default_rng(0)
    from minischnet.interpret import group

    clustered = np.array(
        [centres[group(z)] for z in [3, 11, 19, 9, 17, 35, 8, 16, 34]]
    ) + 0.1 * rng.normal(size=(9, 2))
    assert group_clustering(clustered, elements) < 0.05
    random_layout = rng.normal(size=(2000, 2))
    many = (elements * 223)[:2000]
    assert group_clustering(random_layout, many) == pytest.approx(1.0, abs=0.03)


def test_energy_by_partner_groups_each_atom_by_its_nearest_neighbour(model):
    from minischnet.interpret import energy_by_partner

    methanol, acetamide = molecule("CH3OH"), molecule("CH3CONH2")
    groups = energy_by_partner(model, [methanol, acetamide, Atoms("H")], "H")
    assert {k: len(v) for k, v in groups.items()} == {
        "C": 6,
        "N": 2,
        "O": 1,
    }  # a lone H atom has no partner
    # the values are the atom-wise energies of eq. (3), from each molecule on its own
    single = [
        model.atom_energies(minischnet.collate([m], CUTOFF)).detach().numpy()
        for m in (methanol, acetamide)
    ]
    for m, e, heavy in ((methanol, single[0], "O"), (acetamide, single[1], "N")):
        X = m.get_chemical_symbols().index(heavy)
        bonded = [
            i for i in np.flatnonzero(m.numbers == 1) if m.get_distance(int(i), X) < 1.1
        ]  # O-H, N-H bonds
        np.testing.assert_allclose(groups[heavy], e[bonded], rtol=1e-10)


def test_lowest_nearest_names_the_atoms_beside_the_lowest_points():
    from minischnet.interpret import lowest_nearest

    pair = Atoms("OC", positions=[[0, 0, 0], [3, 0, 0]])
    points = np.array([[x, 1.0, 0.0] for x in np.linspace(-1, 4, 100)])
    potential = points[:, 0] ** 2  # lowest near x = 0, beside the oxygen
    assert lowest_nearest(pair, points, potential, share=0.2) == {"O0": 20}
    assert lowest_nearest(pair, points, -potential, share=0.2) == {
        "C1": 20
    }  # lowest now at the far end, x = 4
    assert lowest_nearest(pair, points, potential, share=0.0) == {"O0": 1}  # at least one point
    with pytest.raises(ValueError, match="100 points but 99"):
        lowest_nearest(pair, points, potential[:-1])
    with pytest.raises(ValueError, match="share must be in"):
        lowest_nearest(pair, points, potential, share=1.5)
    with pytest.raises(ValueError, match=r"potential must have shape \(n_points,\)"):
        lowest_nearest(pair, points, potential[:, None])  # would sort along the wrong axis


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m, a: probe_surface(a, distance=0), "distance must be a positive number"),
        (lambda m, a: probe_surface(a, distance=float("nan")), "distance must be a positive"),
        (lambda m, a: probe_surface(a, points_per_atom=0), "points_per_atom must be a whole"),
        (lambda m, a: probe_surface(Atoms(), distance=1.0), "needs at least one atom"),
        (lambda m, a: local_potential(m, a, np.zeros((0, 3))), "no points"),
        (lambda m, a: local_potential(m, a, [[0, 0, np.nan]]), "NaN or infinite"),
        (lambda m, a: local_potential(m, a, [[0, 0, 3.0]], probe="Xx"), "not an element symbol"),
        (lambda m, a: local_potential(m, a, [[0, 0, 3.0]], probe=1.5), "atomic number 1-118"),
        (lambda m, a: local_potential(m, a, [[0, 0, 3.0]], probe="X"), "not an element symbol"),
    ],
)
def test_probes_refuse_what_has_no_meaning(call, message):
    """A shell of radius 0 or NaN, no points, an unknown probe element: one clear ValueError each
    (before, a NaN radius gave an empty shell and "Xx" a bare KeyError)."""
    model = minischnet.SchNet(n_features=8, n_interactions=1, n_rbf=5, cutoff=3.0, max_z=9)
    water = Atoms("OH2", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    with pytest.raises(ValueError, match=message):
        call(model, water)


def test_mean_by_nearest_averages_each_atoms_patch():
    from minischnet.interpret import mean_by_nearest

    pair = Atoms("OC", positions=[[0, 0, 0], [3, 0, 0]])
    x = np.linspace(
        -1, 4, 101
    )  # 0.05 apart; x < 1.5 is nearer the oxygen (x = 1.5 itself goes to it too)
    points = np.stack([x, np.ones_like(x), np.zeros_like(x)], axis=1)
    got = mean_by_nearest(pair, points, x)
    assert got == pytest.approx(
        {"O0": 0.25, "C1": 2.775}, abs=1e-12
    )  # means of -1 ... 1.5 and 1.55 ... 4
    assert mean_by_nearest(pair, points[:10], x[:10]) == pytest.approx(
        {"O0": -0.775}, abs=1e-12
    )  # no point near C
    with pytest.raises(ValueError, match="101 points but 100"):
        mean_by_nearest(pair, points, x[:-1])


def test_rank_at_reads_a_spot_of_known_height():
    from minischnet.interpret import rank_at

    points = np.array([[x, 0.0, 0.0] for x in np.linspace(0, 9.9, 100)])  # 0.1 Å apart
    potential = -np.exp(-((points[:, 0] - 2.0) ** 2))  # a well at x = 2, its floor at x = 2.0
    got = rank_at(points, potential, [2.0, 0.0, 0.0], radius=0.25)
    # the 5 points within 0.25 Å (x = 1.8 ... 2.2) average -(1 + 2e^-0.01 + 2e^-0.04)/5 = -0.9803,
    # which every point lies above but the three with |x - 2| < 0.141 (x = 1.9, 2.0, 2.1)
    assert got == {
        "share_above": 0.97,
        "n_near": 5,
        "minimum_distance": pytest.approx(0.0, abs=1e-12),
    }
    # far up the flank: the mean over x = 5.8 ... 6.2 is -1.9e-7 (mostly x = 5.8's -e^-14.44), and
    # above it lie the points with (x - 2)^2 > 15.46, x = 6.0 ... 9.9: 40 of them
    got = rank_at(points, potential, [6.0, 0.0, 0.0], radius=0.25)
    assert got["minimum_distance"] == pytest.approx(4.0, abs=1e-12) and got["share_above"] == 0.40
    with pytest.raises(ValueError, match="no point within 0.25 Å"):
        rank_at(points, potential, [2.0, 5.0, 0.0], radius=0.25)
    with pytest.raises(ValueError, match="100 points but 99"):
        rank_at(points, potential[:-1], [2.0, 0.0, 0.0])


def test_insertion_energy_is_the_pair_sum_for_a_pair_potential(rng):
    """Lennard-Jones is pairwise additive: putting a probe in adds exactly sum_i phi(|r - r_i|)."""
    from ase.calculators.lj import LennardJones

    from minischnet.interpret import insertion_energy

    sigma, epsilon, rc = 1.1, 0.02, 6.0
    mol = molecule("CH3CHO")
    points = mol.positions.mean(axis=0) + rng.normal(0, 2.5, (12, 3))
    r = np.linalg.norm(points[:, None] - mol.positions[None], axis=-1)
    phi = 4 * epsilon * ((sigma / r) ** 12 - (sigma / r) ** 6) - 4 * epsilon * (
        (sigma / rc) ** 12 - (sigma / rc) ** 6
    )
    expected = np.where(r < rc, phi, 0.0).sum(axis=1)
    got = insertion_energy(
        LennardJones(sigma=sigma, epsilon=epsilon, rc=rc, smooth=False), mol, points, probe="Ar"
    )
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-14)


def test_insertion_energy_of_a_model_unlike_its_masked_probe(model, rng):
    from minischnet.interpret import insertion_energy

    mol = molecule("HCOOH")
    points = mol.positions.mean(axis=0) + rng.normal(0, 1.5, (20, 3))
    calc = minischnet.Calculator(model)
    got = insertion_energy(calc, mol, points, batch_size=6)

    # the same from eq. (3)'s totals, one structure at a time
    def total(Z, R):
        return model(minischnet.collate([(Z, R)], CUTOFF)).item()

    e_mol, e_h = total(mol.numbers, mol.positions), total(np.array([1]), np.zeros((1, 3)))
    expected = [
        total(np.append(mol.numbers, 1), np.vstack([mol.positions, p])) - e_mol - e_h
        for p in points
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    # beyond the cutoff nothing interacts: exactly zero
    assert insertion_energy(calc, mol, [[0.0, 0.0, CUTOFF + 5.0]])[0] == pytest.approx(
        0.0, abs=1e-12
    )
    # the molecule's response to the probe is what the masked local potential leaves out
    masked = local_potential(model, mol, points) - e_h
    assert np.abs(got - masked).max() > 1e-3
    with pytest.raises(ValueError, match="points"):
        insertion_energy(calc, mol, np.zeros(5))


@pytest.mark.skipif(
    importlib.util.find_spec("tblite") is None, reason="needs tblite (CI installs it)"
)
@pytest.mark.requires("qm9pack")
def test_gfn2_xtb_binds_a_hydrogen_at_the_oxygens_and_at_a_vacancy():
    """The chemistry Fig. 4 reads off its network, checked with quantum chemistry: on the 1.2 Å
    shell around N-formylformamide a hydrogen is bound most strongly beside the oxygens
    (C=O -> C-OH), and with the N-H hydrogen removed, at its vacancy."""
    from tblite.ase import TBLite

    from minischnet.data import n_formylformamide, qm9
    from minischnet.interpret import (
        insertion_energy,
        lowest_nearest,
        probe_surface,
        removed_position,
    )

    mol, radical = n_formylformamide(qm9())
    vacancy = removed_position(mol, radical)
    xtb = TBLite(method="GFN2-xTB", verbosity=0)
    points = probe_surface(mol, distance=1.2, points_per_atom=100)
    E = insertion_energy(xtb, mol, points)
    assert set(lowest_nearest(mol, points, E)) == {"O0", "O4"}
    assert E.min() < -0.8  # bound by more than 0.8 eV there ...
    assert np.median(E) > 0.2  # ... while most of the shell repels (median 0.4 eV)
    points = probe_surface(radical, distance=1.2, points_per_atom=100)
    E = insertion_energy(xtb, radical, points)
    assert np.linalg.norm(points[np.argmin(E)] - vacancy) < 0.5
    assert E.min() < -4.0  # the N-H bond back


def test_shift_partition_keeps_every_energy_and_force_and_moves_the_probe(model, rng):
    from minischnet.interpret import shift_partition

    delta, r_on, r_off = 0.7, 1.3, 1.8
    shifted = shift_partition(model, delta, "H", "O", r_on=r_on, r_off=r_off)
    # water and formic acid have O-H bonds; the rattled copies put some H-O distances on the switch
    molecules = [molecule("H2O"), molecule("HCOOH"), molecule("CH3CH2OH")]
    for m in list(molecules):
        rattled = m.copy()
        rattled.positions += rng.normal(0, 0.25, rattled.positions.shape)
        molecules.append(rattled)
    batch = minischnet.collate(molecules, CUTOFF)
    E0, F0 = model.energy_and_forces(batch)
    E1, F1 = shifted.energy_and_forces(batch)
    torch.testing.assert_close(E1, E0, rtol=0, atol=1e-12)
    torch.testing.assert_close(F1, F0, rtol=0, atol=1e-12)
    # ... while the split moved: each O-H hydrogen of water hands exactly delta to its oxygen
    water = minischnet.collate([molecules[0]], CUTOFF)
    moved = (shifted.atom_energies(water) - model.atom_energies(water)).detach().numpy()
    np.testing.assert_allclose(
        moved, [2 * delta, -delta, -delta], rtol=1e-12
    )  # O, H, H (H-H: no donor)
    # a masked probe keeps its share: -delta * s(d), s from the switch in closed form
    ethanol = molecules[2]
    o = int(np.flatnonzero(ethanol.numbers == 8)[0])
    points = ethanol.positions[o] + rng.normal(size=(40, 3)) * np.array([1.0, 1.0, 1.0])
    d = np.linalg.norm(points - ethanol.positions[o], axis=1)
    s = np.where(
        d < r_on,
        1.0,
        np.where(d < r_off, 0.5 * (np.cos(np.pi * (d - r_on) / (r_off - r_on)) + 1), 0.0),
    )
    np.testing.assert_allclose(
        local_potential(shifted, ethanol, points) - local_potential(model, ethanol, points),
        -delta * s,
        rtol=1e-10,
        atol=1e-12,
    )
    assert (s > 0).sum() > 10 and (s == 0).sum() > 5  # the points hit both sides of the switch
    with pytest.raises(ValueError, match="r_off <= the model's cutoff"):
        shift_partition(model, delta, r_off=CUTOFF + 1)
    with pytest.raises(ValueError, match="different elements"):
        shift_partition(model, delta, "O", "O")
