"""MD and RPMD against closed-form answers: the quantum harmonic oscillator, energy conservation."""

import json

import numpy as np
import pytest
from ase import Atoms, units
from ase.calculators.calculator import Calculator, all_changes

from minischnet.md import (
    HBAR,
    RingPolymerMD,
    block_error,
    distance_histograms,
    normal_mode_frequencies,
    normal_mode_matrix,
    write_run,
)


class Harmonic(Calculator):
    """V = sum_a k |r_a|^2 / 2: independent isotropic oscillators (a real potential with a known
    answer)."""

    implemented_properties = ["energy", "forces"]

    def __init__(self, k):
        super().__init__()
        self.k = k

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        r = self.atoms.positions
        self.results = {"energy": 0.5 * self.k * np.sum(r**2), "forces": -self.k * r}


def oscillators(n=64, mass=1.0):
    return Atoms(f"H{n}", positions=np.zeros((n, 3)), masses=np.full(n, mass))


def ring_matrix(P):
    """The springs of a ring of P beads, written out: sum_j (x_j - x_j+1)^2 = x^T A x."""
    A = np.zeros((P, P))
    for j in range(P):
        nxt = (j + 1) % P
        if nxt != j:
            A[j, j] += 1
            A[nxt, nxt] += 1
            A[j, nxt] -= 1
            A[nxt, j] -= 1
    return A


@pytest.mark.parametrize("P", [1, 2, 3, 8])
def test_normal_modes_diagonalise_the_ring(P):
    C = normal_mode_matrix(P)
    np.testing.assert_allclose(C.T @ C, np.eye(P), atol=1e-14)
    # the ring's spring matrix has the eigenvalues (ω_k / ω_P)^2 = 4 sin^2(kπ/P)
    np.testing.assert_allclose(
        C.T @ ring_matrix(P) @ C, np.diag(normal_mode_frequencies(P, 1.0) ** 2), atol=1e-12
    )
    np.testing.assert_allclose(
        np.sort(normal_mode_frequencies(P, 1.0) ** 2),
        np.sort(np.linalg.eigvalsh(ring_matrix(P))),
        atol=1e-12,
    )


def exact_x2(P, beta, m, omega):
    """<x^2> of one coordinate for the P-bead discretisation, from the ring's Hessian alone:
    the beads are Gaussian with covariance (β_P K)^-1, K = m ω_P^2 A + m ω^2 I, β_P = β / P."""
    omega_P = P / (beta * HBAR)
    K = m * omega_P**2 * ring_matrix(P) + m * omega**2 * np.eye(P)
    return np.trace(np.linalg.inv(K)) / beta  # the mean over beads of (P / β) (K^-1)_jj


@pytest.mark.slow
@pytest.mark.parametrize("P", [1, 8])
def test_harmonic_oscillator_position_variance(P):
    T, m = 300.0, 1.0
    beta = 1 / (units.kB * T)
    omega = 3.0 / (beta * HBAR)  # βħω = 3: strongly quantum
    k = m * omega**2
    period_fs = 2 * np.pi / omega / units.fs
    md = RingPolymerMD(
        oscillators(64, m),
        Harmonic(k),
        nbeads=P,
        temperature_K=T,
        timestep_fs=period_fs / 40,
        tau_fs=period_fs,
        seed=1,
    )
    md.run(400, quiet=True)  # equilibrate
    out = md.run(6000, record_every=5, quiet=True)
    x2 = np.mean(out["positions"] ** 2)  # over frames, beads, atoms, coordinates
    # statistical error: 64 x 3 independent coordinates, about one period correlation time
    n_independent = 64 * 3 * (6000 / 40)
    expected = exact_x2(P, beta, m, omega)
    assert x2 == pytest.approx(expected, rel=4 / np.sqrt(n_independent) + 0.01)
    if P == 1:
        assert expected == pytest.approx(1 / (beta * m * omega**2))  # classical
    else:
        quantum = HBAR / (2 * m * omega) / np.tanh(beta * HBAR * omega / 2)
        assert expected == pytest.approx(
            quantum, rel=0.05
        )  # P = 8 is within 5 % of P -> infinity here
        assert x2 > 1.5 / (
            beta * m * omega**2
        )  # and far from classical (quantum/classical = 1.66 at βħω = 3)


@pytest.mark.slow
def test_kinetic_estimators_agree_with_exact_energy():
    T, m, P = 300.0, 1.0, 8
    beta = 1 / (units.kB * T)
    omega = 3.0 / (beta * HBAR)
    md = RingPolymerMD(
        oscillators(32, m),
        Harmonic(m * omega**2),
        nbeads=P,
        temperature_K=T,
        timestep_fs=2 * np.pi / omega / units.fs / 40,
        tau_fs=2 * np.pi / omega / units.fs,
        seed=2,
    )
    md.run(400, quiet=True)
    out = md.run(6000, record_every=5, quiet=True)
    # For a harmonic oscillator <K> = <V> = ½ m ω² <x²> per coordinate (virial theorem, P-bead
    # exact)
    expected = 0.5 * m * omega**2 * exact_x2(P, beta, m, omega) * 32 * 3
    assert out["kinetic_cv"].mean() == pytest.approx(expected, rel=0.03)
    assert out["potential"].mean() == pytest.approx(expected, rel=0.03)
    assert out["kinetic_primitive"].mean() == pytest.approx(expected, rel=0.06)  # noisier estimator
    assert out["kinetic_primitive"].std() > 2 * out["kinetic_cv"].std()


@pytest.mark.slow
@pytest.mark.parametrize("P", [1, 4])
@pytest.mark.parametrize("splitting", ["obabo", "baoab"])
def test_nve_conserves_energy_and_pile_conserved_quantity(P, splitting):
    m, omega = 1.0, 0.05  # ASE units
    common = dict(nbeads=P, temperature_K=300.0, timestep_fs=0.5, seed=3, splitting=splitting)
    nve = RingPolymerMD(oscillators(8, m), Harmonic(m * omega**2), tau_fs=None, **common)
    out = nve.run(2000, record_every=10, quiet=True)
    drift = np.abs(out["conserved"] - out["conserved"][0]).max()
    assert drift < 1e-3 * np.abs(out["kinetic_cv"]).mean()
    pile = RingPolymerMD(oscillators(8, m), Harmonic(m * omega**2), tau_fs=50.0, **common)
    out = pile.run(2000, record_every=10, quiet=True)
    assert (
        np.abs(out["conserved"] - out["conserved"][0]).max()
        < 1e-3 * np.abs(out["kinetic_cv"]).mean()
    )
    assert abs(pile.thermostat_work) > 10 * np.abs(out["conserved"] - out["conserved"][0]).max()


def test_same_seed_same_trajectory():
    a = RingPolymerMD(oscillators(4), Harmonic(0.01), 4, 300.0, 1.0, seed=7).run(50, quiet=True)
    b = RingPolymerMD(oscillators(4), Harmonic(0.01), 4, 300.0, 1.0, seed=7).run(50, quiet=True)
    c = RingPolymerMD(oscillators(4), Harmonic(0.01), 4, 300.0, 1.0, seed=8).run(50, quiet=True)
    np.testing.assert_array_equal(a["positions"], b["positions"])
    assert np.abs(a["positions"] - c["positions"]).max() > 1e-3


def test_bad_arguments():
    with pytest.raises(ValueError, match="nbeads"):
        RingPolymerMD(oscillators(2), Harmonic(0.01), 0, 300.0, 1.0)
    with pytest.raises(ValueError, match="splitting"):
        RingPolymerMD(oscillators(2), Harmonic(0.01), 1, 300.0, 1.0, splitting="aboba")
    with pytest.raises(ValueError, match="temperature"):
        RingPolymerMD(oscillators(2), Harmonic(0.01), 2, -1.0, 1.0)


@pytest.mark.parametrize(
    "changed, message",
    [
        (
            dict(temperature_K=np.inf),
            "temperature_K must be a finite positive number of K, got inf",
        ),
        (dict(temperature_K=np.nan), "temperature_K must be a finite positive"),
        (dict(timestep_fs=np.inf), "timestep_fs must be a finite positive number of fs, got inf"),
        (dict(timestep_fs=0), "timestep_fs must be a finite positive"),
        (dict(tau_fs=0), "tau_fs must be a finite positive number of fs"),
        (dict(tau_fs=-5.0), "tau_fs must be a finite positive"),
        (dict(tau_fs="100"), "tau_fs must be a number"),
        (dict(nbeads=2.5), "nbeads must be a whole number"),
        (dict(max_drift_eV_per_atom=0), "max_drift_eV_per_atom must be a finite positive"),
        (dict(max_step_A=-1.0), "max_step_A must be a finite positive number of Å"),
    ],
)
def test_parameters_are_checked_by_name(changed, message):
    """Each bad parameter is named in its error, never blamed on the positions."""
    kwargs = dict(nbeads=2, temperature_K=300.0, timestep_fs=1.0, tau_fs=100.0) | changed
    with pytest.raises(ValueError, match=message):
        RingPolymerMD(oscillators(2), Harmonic(0.01), **kwargs)


def test_a_run_that_blows_up_stops_at_its_last_good_step():
    """C20 at 50 fs flies apart within a few steps: the run stops with DynamicsBlewUp and keeps
    the state of the step before, which passes the check; None switches the drift check off."""
    import minischnet
    from minischnet.data import c20_minimum
    from minischnet.md import DynamicsBlewUp

    model = minischnet.load("c20_schnet")
    model.tabulate_filters()
    md = RingPolymerMD(c20_minimum(), minischnet.Calculator(model), 8, 300.0, 50.0)
    with pytest.raises(DynamicsBlewUp, match=r"drifted by .* eV per atom.*50 fs too large"):
        md.run(10, quiet=True)
    assert 0 <= md.step_count < 10
    kept = md.state()
    assert md._check(md.q) == ""  # the state kept is the last good one
    with pytest.raises(DynamicsBlewUp):  # and the bad step is bad again, from the same state
        md.step()
    np.testing.assert_array_equal(md.q, kept["q"])
    assert md.rng.bit_generator.state == json.loads(kept["rng"])

    unchecked = RingPolymerMD(
        c20_minimum(),
        minischnet.Calculator(model),
        8,
        300.0,
        50.0,
        max_drift_eV_per_atom=None,
        max_step_A=None,
    )
    unchecked.run(3, quiet=True)  # integrates garbage, as asked
    assert unchecked.step_count == 3


class Nothing(Calculator):
    """No forces at all: free atoms, whose energy cannot drift whatever the time step."""

    implemented_properties = ["energy", "forces"]

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self.results = {"energy": 0.0, "forces": np.zeros((len(self.atoms), 3))}


def test_atoms_flung_apart_by_a_huge_time_step_are_caught():
    """A time step far too large moves atoms by Ångströms per step while the energy may hardly
    change (a model's energy of atoms far apart is flat): the step check stops it where the drift
    check cannot; a sensible step passes, and the check is off unless asked for."""
    from minischnet.md import DynamicsBlewUp

    free = RingPolymerMD(oscillators(4), Nothing(), 1, 300.0, 1e4, tau_fs=None, max_step_A=1.0)
    with pytest.raises(DynamicsBlewUp, match=r"an atom moved .* Å in one step.*max_step_A"):
        free.step()
    assert free.step_count == 0  # the state before the bad step is kept
    RingPolymerMD(oscillators(4), Nothing(), 8, 300.0, 0.5, max_step_A=1.0).run(20, quiet=True)
    unchecked = RingPolymerMD(oscillators(4), Nothing(), 1, 300.0, 1e4)  # off by default
    unchecked.run(2, quiet=True)
    assert unchecked.step_count == 2


def test_run_and_load_state_name_what_is_wrong():
    md = RingPolymerMD(oscillators(2), Harmonic(0.01), 2, 300.0, 1.0)
    with pytest.raises(ValueError, match="record_every must be a whole number >= 1, got 0"):
        md.run(2, record_every=0)
    with pytest.raises(ValueError, match="steps must be a whole number >= 0, got -1"):
        md.run(-1)
    with pytest.raises(ValueError, match="steps must be a whole number >= 0, got 1000.0"):
        md.run(1e3)
    other = RingPolymerMD(oscillators(2), Harmonic(0.01), 4, 300.0, 1.0)
    with pytest.raises(ValueError, match=r"shape \(4, 2, 3\).*another number of beads"):
        md.load_state(other.state())
    with pytest.raises(ValueError, match="not a saved RingPolymerMD state: p missing"):
        md.load_state({k: v for k, v in other.state().items() if k != "p"})
    assert md.step_count == 0  # nothing of the refused states was taken


def test_distance_histograms_and_files(tmp_path):
    import ase.io

    triangle = np.array([[0.0, 0, 0], [1.5, 0, 0], [0, 2.0, 0]])  # distances 1.5, 2.0, 2.5 Å
    positions = triangle + np.random.default_rng(0).normal(
        0, 0.02, (10, 4, 3, 3)
    )  # frames, beads, atoms, xyz
    h = distance_histograms(positions, bins=np.linspace(0, 4, 401))
    dr = h["r"][1] - h["r"][0]
    assert np.sum(h["beads"]) * dr == pytest.approx(1.0) and np.sum(
        h["centroids"]
    ) * dr == pytest.approx(1.0)
    # three peaks near 1.5, 2.0 and 2.5 Å, each holding a third of the weight
    for r0 in (1.5, 2.0, 2.5):
        near = np.abs(h["r"] - r0) < 0.2
        assert np.sum(h["centroids"][near]) * dr == pytest.approx(1 / 3, abs=0.02)
    out = RingPolymerMD(oscillators(3), Harmonic(0.05), 4, 300.0, 1.0, seed=0).run(
        20, record_every=2, quiet=True
    )
    write_run(out, oscillators(3), tmp_path / "run")
    frames = ase.io.read(tmp_path / "run.extxyz", ":")
    assert len(frames) == 10
    np.testing.assert_allclose(frames[-1].positions, out["positions"][-1].mean(axis=0), atol=1e-8)
    assert np.load(tmp_path / "run.npz")["kinetic_cv"].shape == (10,)


def test_resume_from_state_is_exact():
    straight = RingPolymerMD(oscillators(4), Harmonic(0.01), 4, 300.0, 1.0, seed=5)
    straight.run(60, quiet=True)
    first = RingPolymerMD(oscillators(4), Harmonic(0.01), 4, 300.0, 1.0, seed=5)
    first.run(25, quiet=True)
    state = first.state()
    second = RingPolymerMD(oscillators(4), Harmonic(0.01), 4, 300.0, 1.0, seed=99)
    second.load_state(state)
    second.run(35, quiet=True)
    np.testing.assert_array_equal(second.q, straight.q)
    np.testing.assert_array_equal(second.p, straight.p)
    assert second.step_count == 60


@pytest.mark.parametrize("splitting", ["obabo", "baoab"])
def test_large_time_step_sampling_of_the_two_splittings(splitting):
    """Classical oscillator at ω dt = 1: the closed forms of the two splittings' position variance.

    OBABO (velocity Verlet inside) samples <x^2> = kT / (k (1 - (ω dt)^2 / 4)), 4/3 too large here;
    BAOAB samples the exact kT / k (Leimkuhler & Matthews 2013). Both are exact for momenta or
    positions respectively, which is what makes this test sharp.
    """
    T, m, omega = 300.0, 1.0, 0.1  # ASE units
    dt = 1.0 / omega
    md = RingPolymerMD(
        oscillators(64, m),
        Harmonic(m * omega**2),
        nbeads=1,
        temperature_K=T,
        timestep_fs=dt / units.fs,
        tau_fs=dt / units.fs,
        seed=2,
        splitting=splitting,
    )
    md.run(200, quiet=True)
    out = md.run(4000, record_every=2, quiet=True)
    x2 = np.mean(out["positions"] ** 2)
    kT_over_k = units.kB * T / (m * omega**2)
    expected = kT_over_k / (1 - (omega * dt) ** 2 / 4) if splitting == "obabo" else kT_over_k
    n_independent = 64 * 3 * 4000 / 3  # correlation time of a few steps at this friction
    assert x2 == pytest.approx(expected, rel=4 * np.sqrt(2 / n_independent))


@pytest.mark.parametrize("omega", [0.0, 0.3, 2.0, 17.0])
def test_free_ring_propagator_is_the_exponential_of_its_generator(omega):
    """A free mode is a harmonic oscillator: (p, q) -> exp(dt [[0, -m ω^2], [1/m, 0]]) (p, q),
    here from scipy's matrix exponential, for the ω = 0 centroid (free flight) too."""
    from scipy.linalg import expm

    from minischnet.md import free_ring_propagator

    masses, dt = np.array([1.0, 12.0]), 0.7
    U = free_ring_propagator(np.array([omega]), masses, dt)  # (1, 2, 2, 2)
    for a, m in enumerate(masses):
        generator = np.array([[0.0, -m * omega**2], [1.0 / m, 0.0]])
        np.testing.assert_allclose(U[0, a], expm(dt * generator), rtol=1e-12, atol=1e-14)


def test_block_error_of_known_blocks():
    """20 blocks of constant values: the error is their standard deviation / sqrt(20)."""
    values = np.arange(20.0) ** 1.5
    x = np.repeat(values, 7)  # 140 samples, 7 per block
    assert block_error(x) == pytest.approx(values.std(ddof=1) / np.sqrt(20), rel=1e-14)
    assert block_error(x, blocks=10) == pytest.approx(
        values.reshape(10, 2).mean(axis=1).std(ddof=1) / np.sqrt(10), rel=1e-14
    )
    assert np.isnan(block_error([1.0]))
