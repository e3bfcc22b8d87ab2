"""A third truth: equations (1)-(6) written out as plain loops over atoms and pairs.

The reference and the PyTorch twin are compared with each other elsewhere, so a mistake made the
same way in both would pass there. Here every equation is written once more for a molecule of four
atoms with Python scalars and ``cmath``: no arrays, no scatter, no helper shared with the package.
Forces come from the complex step, dE/dx = Im E(x + ih) / h with h = 1e-30, which has no
subtractive cancellation: derivatives exact to round-off, not to a finite-difference error.
"""

import cmath
import math

import numpy as np
import pytest
import torch
from ase import Atoms, units

import minischnet
from minischnet import reference
from minischnet.md import RingPolymerMD
from minischnet.train import energy_force_loss

CUTOFF = 4.0
Z = [8, 1, 6, 1]  # an O, C and two H, close enough that every pair interacts
R = [[0.0, 0.0, 0.0], [0.96, 0.1, 0.0], [-0.4, 1.3, 0.2], [-1.4, 1.6, -0.5]]
STEP = 1e-30  # complex step


def params_of(kind, seed=0):
    make = reference.init_schnet if kind == "schnet" else reference.init_dtnn
    p = make(6, 2, 7, CUTOFF, max_z=9, seed=seed)
    rng = np.random.default_rng(seed + 1)
    for key in p:  # non-zero biases and read-out scale, so that each one counts
        if key.endswith(".b") or key in ("atomref",):
            p[key] = rng.normal(0, 0.3, p[key].shape)
    p["mean"], p["std"] = np.array(-0.2), np.array(1.3)
    return p


# -- the building blocks, one scalar at a time ---------------------------------------------


def dense(p, name, x):
    """x @ W + b for a list x."""
    W, b = p[name + ".W"], p.get(name + ".b")
    out = []
    for o in range(W.shape[1]):
        s = 0.0 if b is None else float(b[o])
        for i in range(len(x)):
            s += x[i] * float(W[i, o])
        out.append(s)
    return out


def ssp(v):
    return cmath.log(0.5 * cmath.exp(v) + 0.5)  # ln(0.5 e^x + 0.5), arguments stay small here


def distance(Ri, Rj):
    return cmath.sqrt(sum((Rj[k] - Ri[k]) ** 2 for k in range(3)))


def gaussians(d, p):
    centres, gamma = p["rbf_centers"], float(p["rbf_gamma"])
    return [cmath.exp(-gamma * (d - float(mu)) ** 2) for mu in centres]


def cutoff_fn(d, rc):
    return 0.5 * (cmath.cos(math.pi * d / rc) + 1.0) if d.real < rc else 0.0


def add(a, b):
    return [u + v for u, v in zip(a, b)]


def times(a, b):
    return [u * v for u, v in zip(a, b)]


# -- the models ----------------------------------------------------------------------------


def schnet_message(p, t, x_j, d):
    """h_j o W(d_ij) of eq. (4): the filter network on the Gaussians, times the cosine cutoff."""
    pre = f"interaction{t}."
    W = [
        ssp(v)
        for v in dense(
            p, pre + "filter2", [ssp(v) for v in dense(p, pre + "filter1", gaussians(d, p))]
        )
    ]
    W = [w * cutoff_fn(d, CUTOFF) for w in W]
    return times(dense(p, pre + "in2f", x_j), W)


def schnet_update(p, t, y):
    pre = f"interaction{t}."
    return dense(p, pre + "dense", [ssp(v) for v in dense(p, pre + "f2out", y)])


def dtnn_message(p, t, x_j, d):
    """Eq. (2): tanh(W^xf ((W^fx x_j + b^f1) o (W^fd d̂_ij + b^f2))) times the cosine cutoff."""
    pre = f"interaction{t}."
    factors = times(dense(p, pre + "fx", x_j), dense(p, pre + "fd", gaussians(d, p)))
    return [cmath.tanh(v) * cutoff_fn(d, CUTOFF) for v in dense(p, pre + "xf", factors)]


def energy(kind, p, Z, R):
    """Eqs. (1)-(4) for a molecule (no cell), atom by atom and pair by pair."""
    n, T = len(Z), reference.n_interactions(p)
    x = [[float(v) for v in p["embedding"][z]] for z in Z]  # x_i^(0) = A[Z_i]
    for t in range(T):
        new = []
        for i in range(n):
            y = [0.0] * len(x[i])
            for j in range(n):
                d = distance(R[i], R[j])
                if j != i and d.real < CUTOFF:
                    message = schnet_message if kind == "schnet" else dtnn_message
                    y = add(y, message(p, t, x[j], d))
            v = schnet_update(p, t, y) if kind == "schnet" else y
            new.append(add(x[i], v))  # eq. (1)
        x = new
    activation = ssp if kind == "schnet" else cmath.tanh
    E = 0.0
    for i in range(n):  # eq. (3)
        out = dense(p, "output2", [activation(v) for v in dense(p, "output1", x[i])])[0]
        E += float(p["std"]) * out + float(p["mean"]) + float(p["atomref"][Z[i]])
    return E


def forces(kind, p, Z, R):
    """Eq. (5), F = -dE/dR, by the complex step."""
    F = []
    for a in range(len(Z)):
        row = []
        for k in range(3):
            moved = [list(r) for r in R]
            moved[a][k] = R[a][k] + 1j * STEP
            row.append(-energy(kind, p, Z, moved).imag / STEP)
        F.append(row)
    return F


# -- the tests -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["schnet", "dtnn"])
def test_energy_and_forces_equal_the_loops(kind):
    p = params_of(kind)
    E = energy(kind, p, Z, R).real
    F = np.array(forces(kind, p, Z, R))
    ref_energy, ref_forces = (
        (reference.schnet_energy, reference.schnet_forces)
        if kind == "schnet"
        else (reference.dtnn_energy, reference.dtnn_forces)
    )
    assert ref_energy(p, np.array(Z), np.array(R)) == pytest.approx(E, rel=1e-13, abs=1e-13)
    np.testing.assert_allclose(ref_forces(p, np.array(Z), np.array(R)), F, rtol=0, atol=1e-12)
    model = (minischnet.SchNet if kind == "schnet" else minischnet.DTNN).from_reference(
        p, dtype=torch.float64
    )
    E_t, F_t = model.eval().energy_and_forces(
        minischnet.collate([(np.array(Z), np.array(R))], CUTOFF)
    )
    assert E_t.item() == pytest.approx(E, rel=1e-13, abs=1e-13)
    np.testing.assert_allclose(F_t.numpy(), F, rtol=0, atol=1e-12)
    assert np.abs(F).max() > 0.05  # the forces are not trivially small


def test_building_blocks_equal_the_loops():
    p = params_of("schnet")
    for d in (0.3, 1.1, 2.7, 3.99):
        np.testing.assert_allclose(
            reference.gaussian_expansion(np.array([d]), p["rbf_centers"], p["rbf_gamma"])[0],
            [g.real for g in gaussians(complex(d), p)],
            rtol=1e-14,
        )
        assert float(reference.cosine_cutoff(np.array(d), CUTOFF)) == pytest.approx(
            cutoff_fn(complex(d), CUTOFF).real, rel=1e-14
        )
        assert float(reference.shifted_softplus(np.array(d))) == pytest.approx(
            ssp(d).real, rel=1e-14
        )
    assert float(reference.cosine_cutoff(np.array(CUTOFF + 0.01), CUTOFF)) == 0.0


@pytest.mark.parametrize("kind", ["schnet", "dtnn"])
def test_loss_6_equals_the_loops(kind):
    """rho (E - Ê)^2 + (1/n) sum_i ‖F_i - F̂_i‖^2 with Ê, F̂ from the loops, against both twins."""
    p, rho = params_of(kind), 0.3
    rng = np.random.default_rng(5)
    E_label, F_label = -3.0, rng.normal(0, 0.5, (4, 3))
    E_hat = energy(kind, p, Z, R).real
    F_hat = forces(kind, p, Z, R)
    by_loops = rho * (E_label - E_hat) ** 2
    for i in range(4):
        for k in range(3):
            by_loops += (F_label[i][k] - F_hat[i][k]) ** 2 / 4
    structure = dict(Z=np.array(Z), R=np.array(R), energy=E_label, forces=F_label)
    assert reference.energy_force_loss(p, [structure], rho, kind) == pytest.approx(
        by_loops, rel=1e-12
    )
    atoms = Atoms(numbers=Z, positions=R)
    from ase.calculators.singlepoint import SinglePointCalculator

    atoms.calc = SinglePointCalculator(atoms, energy=E_label, forces=F_label)
    model = (minischnet.SchNet if kind == "schnet" else minischnet.DTNN).from_reference(
        p, dtype=torch.float64
    )
    loss = energy_force_loss(model.eval(), minischnet.collate([atoms], CUTOFF), rho)
    assert loss.item() == pytest.approx(by_loops, rel=1e-12)


class _Harmonic:
    """Forces of independent springs to the origin, k = 2 eV/Å^2: any ASE-like calculator works."""

    def calculate_batch(self, structures):
        return [float(np.sum(s.positions**2)) for s in structures], [
            -2 * s.positions for s in structures
        ]


def test_ring_polymer_spring_energy_and_centroid_virial_equal_the_loops():
    atoms = Atoms("HC", positions=[[0.0, 0.0, 0.0], [1.1, 0.0, 0.0]])
    md = RingPolymerMD(atoms, _Harmonic(), nbeads=4, temperature_K=300.0, timestep_fs=0.5, seed=3)
    md.run(7)
    P, T = 4, 300.0
    kT = units.kB * T
    hbar = units._hbar / units._e * units.s  # J s -> eV s -> eV x ASE's time unit
    omega_P = P * kT / hbar  # ω_P = P k_B T / ħ
    masses = atoms.get_masses()
    spring = 0.0
    for j in range(P):  # (1/2) sum_j sum_a m_a ω_P^2 ‖q_j,a - q_j+1,a‖^2
        for a in range(2):
            for k in range(3):
                spring += (
                    0.5 * masses[a] * omega_P**2 * (md.q[j][a][k] - md.q[(j + 1) % P][a][k]) ** 2
                )
    assert md.spring_energy() == pytest.approx(spring, rel=1e-12)
    virial = 0.0
    for a in range(2):  # 3N kT / 2 - (1/2P) sum_j (q_j - q̄) · F_j
        for k in range(3):
            centroid = sum(md.q[j][a][k] for j in range(P)) / P
            for j in range(P):
                virial += (md.q[j][a][k] - centroid) * (-2 * md.q[j][a][k])
    assert md.kinetic_centroid_virial() == pytest.approx(
        3 * 2 * kT / 2 - virial / (2 * P), rel=1e-12
    )


def test_ring_polymer_observables_equal_the_loops():
    """Kinetic energy, primitive estimator, radius of gyration and the conserved quantity of a
    4-bead ring polymer after a few thermostatted steps, written out bead by bead."""
    atoms = Atoms("HCO", positions=[[0.0, 0.0, 0.0], [1.1, 0.0, 0.0], [0.0, 1.3, 0.2]])
    md = RingPolymerMD(atoms, _Harmonic(), nbeads=4, temperature_K=500.0, timestep_fs=0.5, seed=2)
    out = md.run(9, record_every=3)
    P, N, kT = 4, 3, units.kB * 500.0
    masses = atoms.get_masses()
    kinetic = sum(
        md.p[j][a][k] ** 2 / (2 * masses[a]) for j in range(P) for a in range(N) for k in range(3)
    )
    assert md.kinetic_energy() == pytest.approx(kinetic, rel=1e-12)
    assert md.kinetic_primitive() == pytest.approx(
        3 * N * P * kT / 2 - md.spring_energy() / P, rel=1e-12
    )
    gyration = 0.0
    for a in range(N):
        centroid = [sum(md.q[j][a][k] for j in range(P)) / P for k in range(3)]
        spread = sum((md.q[j][a][k] - centroid[k]) ** 2 for j in range(P) for k in range(3)) / P
        gyration += math.sqrt(spread) / N
    assert md.radius_of_gyration() == pytest.approx(gyration, rel=1e-12)
    potential = sum(float(np.sum(md.q[j] ** 2)) for j in range(P))  # the springs to the origin
    energy = (kinetic + md.spring_energy() + potential + md.thermostat_work) / P
    assert md.conserved_quantity() == pytest.approx(energy, rel=1e-12)
    np.testing.assert_allclose(out["time_fs"], [1.5, 3.0, 4.5], rtol=1e-12)  # every 3rd step
    assert out["conserved"][-1] == md.conserved_quantity()
    assert out["radius_of_gyration"][-1] == md.radius_of_gyration()


@pytest.mark.parametrize("splitting", ["obabo", "baoab"])
def test_pile_thermostat_coefficients_in_closed_form(splitting):
    """PILE-L: mode k is damped at γ_k = 2 ω_k, ω_k = 2 ω_P sin(kπ/P), the centroid at 1/τ,
    over half a step (OBABO: O twice per step) or a whole one (BAOAB):
    c1 = e^(-γ Δt_O), c2 = √(1 - c1²)."""
    P, T, dt_fs, tau_fs = 6, 300.0, 0.5, 40.0
    md = RingPolymerMD(Atoms("H"), _Harmonic(), P, T, dt_fs, tau_fs=tau_fs, splitting=splitting)
    hbar = units._hbar / units._e * units.s
    omega_P = P * units.kB * T / hbar
    dt_O = dt_fs * units.fs / (2 if splitting == "obabo" else 1)
    for k in range(P):
        gamma = 1 / (tau_fs * units.fs) if k == 0 else 2 * (2 * omega_P * math.sin(k * math.pi / P))
        c1 = math.exp(-gamma * dt_O)
        assert md.c1[k, 0, 0] == pytest.approx(c1, rel=1e-12)
        assert md.c2[k, 0, 0] == pytest.approx(math.sqrt(1 - c1**2), rel=1e-12)


def test_initial_momenta_are_drawn_at_the_bead_temperature():
    """p ~ N(0, m P k_B T) for every bead: the kinetic energy of 3 x 2000 x 4 draws is 3NP kT/2."""
    atoms = Atoms("C2000", positions=np.zeros((2000, 3)))
    md = RingPolymerMD(atoms, _Harmonic(), nbeads=4, temperature_K=300.0, timestep_fs=0.5, seed=4)
    expected = 3 * 2000 * 4 * 4 * units.kB * 300.0 / 2  # bead temperature P T
    assert md.kinetic_energy() == pytest.approx(expected, rel=4 * math.sqrt(2 / (3 * 2000 * 4)))
    assert md.thermostat_work == 0.0


def test_without_thermostat_the_ring_polymer_is_microcanonical():
    """thermostat=False: no noise, no friction, whatever tau_fs says."""
    atoms = Atoms("HC", positions=[[0.0, 0.0, 0.0], [1.1, 0.0, 0.0]])
    md = RingPolymerMD(atoms, _Harmonic(), 4, 300.0, 0.2, tau_fs=10.0, thermostat=False, seed=1)
    start = md.conserved_quantity()
    md.run(50)
    assert md.thermostat_work == 0.0
    assert md.conserved_quantity() == pytest.approx(start, rel=1e-4)


def test_thermostat_work_keeps_the_conserved_quantity_constant():
    """With PILE-L on, H_P / P alone wanders as the thermostat exchanges heat; adding the work
    it did, accumulated step by step, gives a constant up to the integration error."""
    atoms = Atoms("HC", positions=[[0.0, 0.0, 0.0], [1.1, 0.0, 0.0]])
    md = RingPolymerMD(atoms, _Harmonic(), 4, 300.0, 0.05, tau_fs=2.0, seed=5)
    conserved, work = [], []
    for _ in range(400):
        md.step()
        conserved.append(md.conserved_quantity())
        work.append(md.thermostat_work / 4)
    conserved = np.array(conserved)
    assert (conserved - np.array(work)).std() > 50 * conserved.std()
