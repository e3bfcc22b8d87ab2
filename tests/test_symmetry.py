"""Invariances of the energy (rotation, translation, permutation, periodic supercells) and
continuity."""

import numpy as np
import pytest

import minischnet
from conftest import CUTOFF, MODELS, random_crystal, random_molecule, small_params, torch_model


def random_rotation(rng):
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def test_rotation_translation_permutation(model_kind, rng):
    params = small_params(model_kind)
    _, energy, forces = MODELS[model_kind]
    Z, R = random_molecule(12, rng)
    E, F = energy(params, Z, R), forces(params, Z, R)

    Q, t = random_rotation(rng), rng.normal(size=3) * 10
    R_moved = R @ Q.T + t
    assert energy(params, Z, R_moved) == pytest.approx(E, rel=1e-12)
    np.testing.assert_allclose(forces(params, Z, R_moved), F @ Q.T, atol=1e-12 * np.abs(F).max())

    perm = rng.permutation(len(Z))
    assert energy(params, Z[perm], R[perm]) == pytest.approx(E, rel=1e-12)
    np.testing.assert_allclose(
        forces(params, Z[perm], R[perm]), F[perm], atol=1e-12 * np.abs(F).max()
    )


def test_torch_rotation_invariance_float32(model_kind, rng):
    params = small_params(model_kind)
    model = torch_model(model_kind, params, dtype=__import__("torch").float32)
    Z, R = random_molecule(20, rng)
    Q = random_rotation(rng)
    E, F = model.energy_and_forces(minischnet.collate([(Z, R), (Z, R @ Q.T)], CUTOFF))
    assert E[0].item() == pytest.approx(E[1].item(), rel=1e-5)
    n = len(Z)
    np.testing.assert_allclose(F[n:].numpy(), F[:n].numpy() @ Q.T, atol=1e-5 * F.abs().max().item())


@pytest.mark.parametrize("repeat", [(2, 1, 1), (1, 2, 3)])
def test_supercell_energy_is_extensive(model_kind, repeat, rng):
    params = small_params(model_kind)
    model = torch_model(model_kind, params)
    cell = random_crystal(rng)
    supercell = cell.repeat(repeat)
    n = int(np.prod(repeat))
    E, F = model.energy_and_forces(minischnet.collate([cell, supercell], CUTOFF))
    assert E[1].item() == pytest.approx(n * E[0].item(), rel=1e-11)
    # Every copy of an atom feels the force of the original.
    F_cell, F_super = F[: len(cell)].numpy(), F[len(cell) :].numpy()
    np.testing.assert_allclose(F_super, np.tile(F_cell, (n, 1)), atol=1e-11 * np.abs(F_cell).max())
    # The reference agrees on the supercell.
    E_ref = MODELS[model_kind][1](
        params, supercell.numbers, supercell.positions, supercell.cell.array, True
    )
    assert E[1].item() == pytest.approx(E_ref, rel=1e-10)


@pytest.mark.parametrize("implementation", ["reference", "torch"])
def test_continuous_across_cutoff(model_kind, implementation, rng):
    """Moving a neighbour out through r_c changes E by O(eps^2) and F by O(eps): no jump."""
    params = small_params(model_kind)
    Z, R = random_molecule(5, rng)
    R = R - R.mean(axis=0)
    Z = np.append(Z, 6)
    direction = np.array([1.0, 0.0, 0.0])
    # The far atom sits on the x axis, just inside/outside the cutoff from the atom with the
    # largest x.
    anchor = int(np.argmax(R[:, 0]))
    others_far = np.max(np.linalg.norm(R - R[anchor], axis=1))
    assert others_far < CUTOFF

    def structure(dist):
        return Z, np.vstack([R, R[anchor] + dist * direction])

    if implementation == "reference":
        _, energy_fn, forces_fn = MODELS[model_kind]

        def ef(s):
            return energy_fn(params, *s), forces_fn(params, *s)

    else:
        model = torch_model(model_kind, params)

        def ef(s):
            E, F = model.energy_and_forces(minischnet.collate([s], CUTOFF))
            return E.item(), F.numpy()

    # Only the anchor may see the moving atom across r_c; every other atom must stay outside.
    for dist in (CUTOFF - 1e-4, CUTOFF + 1e-4):
        d_all = np.linalg.norm(structure(dist)[1][:-1] - structure(dist)[1][-1], axis=1)
        assert np.sum(d_all < CUTOFF) <= 1

    def jump(eps):  # change of E and F when the neighbour moves from r_c - eps to r_c + eps
        (E_in, F_in), (E_out, F_out) = ef(structure(CUTOFF - eps)), ef(structure(CUTOFF + eps))
        return abs(E_in - E_out), np.abs(F_in - F_out).max()

    E_mid, _ = ef(structure(CUTOFF - 0.5))
    E_out, _ = ef(structure(CUTOFF + 1e-3))
    assert abs(E_mid - E_out) > 1e-4  # the neighbour does matter inside the cutoff
    # but fades out smoothly: f(r_c - eps) ~ eps^2, so E changes by eps^2 and F by eps
    (dE_3, dF_3), (dE_4, dF_4) = jump(1e-3), jump(1e-4)
    assert dE_3 / dE_4 == pytest.approx(100, rel=0.02)
    assert dF_3 / dF_4 == pytest.approx(10, rel=0.02)
