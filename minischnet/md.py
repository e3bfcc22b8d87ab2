"""Molecular dynamics and ring-polymer MD (RPMD) with any ASE calculator.

Units are ASE's: positions Å, masses amu, energies eV, time in ASE units (``ase.units.fs``)::

    md = RingPolymerMD(atoms, calc, nbeads=8, temperature_K=300, timestep_fs=0.5)
    out = md.run(steps=10_000, record_every=10)      # out["positions"]: (frames, nbeads, natoms, 3)

RPMD (Craig & Manolopoulos 2004) samples the quantum Boltzmann distribution with P classical
copies of the system ("beads") joined in a ring by springs of frequency ω_P = P / (βħ)::

    H_P = sum_j [ p_j^2 / 2m + V(q_j) + m ω_P^2 ‖q_j - q_j+1‖^2 / 2 ]   at temperature P T.

One step (OBABO, Ceriotti et al., J. Chem. Phys. 133, 124104 (2010))::

    O  PILE-L thermostat for dt/2 on the normal modes (friction 2 ω_k; 1/τ on the centroid)
    B  p += -dt/2 ∇V            (all beads in one call when the calculator has ``calculate_batch``)
    A  free ring polymer for dt, exactly, in normal modes (harmonic oscillators of
       ω_k = 2 ω_P sin(kπ/P))
    B  p += -dt/2 ∇V
    O  thermostat for dt/2

P = 1 is classical Langevin dynamics (OBABO); no thermostat (``tau_fs=None``) is NVE velocity
Verlet. ``splitting="baoab"`` (Leimkuhler & Matthews, Appl. Math. Res. Express 2013, 34) orders
one step as

    B  p += -dt/2 ∇V,   A  free ring for dt/2,   O  thermostat for dt,   A  free ring for dt/2,   B

which samples positions more accurately at large time steps (exactly, for a harmonic potential),
while OBABO, the i-PI default, samples momenta exactly.
"""

from __future__ import annotations

import json

import numpy as np
from ase import units

from ._malloc import keep_freed_memory
from ._progress import progress

HBAR = units._hbar * units.J * units.s  # ħ in eV * (ASE time)


# ---------------------------------------------------------------------------------------------
# Normal modes of the free ring polymer


def normal_mode_matrix(P: int) -> np.ndarray:
    """Orthogonal C (P, P): bead coordinates q_j = sum_k C[j, k] q̃_k; column 0 is the centroid
    mode."""
    j = np.arange(P)[:, None]
    k = np.arange(P)[None, :]
    C = np.where(k == 0, np.sqrt(1 / P), 0.0) * np.ones((P, P))
    C = np.where((k >= 1) & (k < (P + 1) / 2), np.sqrt(2 / P) * np.cos(2 * np.pi * j * k / P), C)
    C = np.where((P % 2 == 0) & (k == P // 2), np.sqrt(1 / P) * (-1.0) ** j, C)
    C = np.where(k > P / 2, np.sqrt(2 / P) * np.sin(2 * np.pi * j * k / P), C)
    return C


def normal_mode_frequencies(P: int, omega_P: float) -> np.ndarray:
    """ω_k = 2 ω_P sin(kπ/P), k = 0..P-1 (the eigenfrequencies of the ring's springs)."""
    return 2 * omega_P * np.sin(np.arange(P) * np.pi / P)


def free_ring_propagator(omega_k: np.ndarray, masses: np.ndarray, dt: float) -> np.ndarray:
    """Exact dt-propagator of each free mode k and atom a: [[cos, -mω sin], [sin/(mω), cos]],
    (P, N, 2, 2)."""
    w, m = np.broadcast_arrays(omega_k[:, None], masses[None, :])  # (P, N) each
    c, s = np.cos(w * dt), np.sin(w * dt)
    with np.errstate(divide="ignore", invalid="ignore"):
        s_over_mw = np.where(w > 0, s / (m * w), dt / m)  # ω -> 0: free flight
    return np.stack([np.stack([c, -m * w * s], -1), np.stack([s_over_mw, c], -1)], -2)


# ---------------------------------------------------------------------------------------------
# Forces on all beads


def bead_forces(atoms, calc, positions):
    """Energies (P,) and forces (P, N, 3) of every bead: one ``calculate_batch`` call if offered."""
    beads = []
    for q in positions:
        bead = atoms.copy()
        bead.positions = q
        beads.append(bead)
    if hasattr(calc, "calculate_batch"):
        energies, forces = calc.calculate_batch(beads)
        return np.asarray(energies), np.asarray(forces)
    energies, forces = [], []
    for bead in beads:
        bead.calc = calc
        energies.append(bead.get_potential_energy())
        forces.append(bead.get_forces())
    return np.array(energies), np.array(forces)


class DynamicsBlewUp(RuntimeError):
    """The integration went wrong (NaN, or the conserved quantity drifted beyond its tolerance);
    the simulation is left at its last good step."""


def _finite_positive(name, value, unit):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise ValueError(f"{name} must be a number ({unit}), got {value!r}")
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite positive number of {unit}, got {value}")
    return float(value)


class RingPolymerMD:
    """RPMD with the PILE-L thermostat; P = 1 is classical Langevin MD, ``tau_fs=None`` is NVE.

    Every step is checked: positions, momenta and energies must stay finite, and the conserved
    quantity (``conserved_quantity``) must stay within ``max_drift_eV_per_atom`` of its value at
    the start. A good C20 run at 0.5 fs drifts by about 0.001 eV per atom in 200 steps (2 fs:
    0.02), one whose time step is too large (5 fs at P = 8) by 30 eV per atom. Over long runs
    the drift of a good one grows slowly: P = 8 at 0.5 fs with the shipped C20 model drifted by
    -0.07 meV/ps per atom over 5 ps, about -0.1 eV per atom in the 1.25 ns of Fig. 6.

    With ``max_step_A`` set, no bead of an atom may move farther than that in one step. A time
    step far too large can fling a molecule apart before the drift check notices, since a
    model's energy of atoms far apart is flat: C20 at 2,000 fs moves an atom 27 Å in its first
    step and has drifted by only 0.4 eV per atom after the second. At 0.5 fs (P = 8) no bead
    moves more than 0.034 Å per step. The check is off by default: an oscillator of any size
    is a valid system, whatever its step. A step that fails a check raises DynamicsBlewUp and
    leaves the simulation at the step before it.
    """

    def __init__(
        self,
        atoms,
        calc,
        nbeads: int,
        temperature_K: float,
        timestep_fs: float,
        tau_fs: float | None = 100.0,
        seed: int = 0,
        thermostat: bool = True,
        splitting: str = "obabo",
        max_drift_eV_per_atom: float | None = 1.0,
        max_step_A: float | None = None,
    ):
        if isinstance(nbeads, bool) or not isinstance(nbeads, (int, np.integer)) or nbeads < 1:
            raise ValueError(f"nbeads must be a whole number >= 1, got {nbeads!r}")
        temperature_K = _finite_positive("temperature_K", temperature_K, "K")
        timestep_fs = _finite_positive("timestep_fs", timestep_fs, "fs")
        if tau_fs is not None:
            tau_fs = _finite_positive("tau_fs", tau_fs, "fs (or None: no thermostat)")
        if max_drift_eV_per_atom is not None:
            _finite_positive("max_drift_eV_per_atom", max_drift_eV_per_atom, "eV")
        self.max_drift_eV_per_atom = max_drift_eV_per_atom
        if max_step_A is not None:
            _finite_positive("max_step_A", max_step_A, "Å (or None: no check)")
        self.max_step_A = max_step_A
        if splitting not in ("obabo", "baoab"):
            raise ValueError(f"splitting must be 'obabo' or 'baoab', got {splitting!r}")
        keep_freed_memory()  # many small force calls: reuse freed memory (minischnet/_malloc.py)
        self.splitting = splitting
        self.atoms, self.calc, self.P = atoms.copy(), calc, nbeads
        self.masses = atoms.get_masses()  # (N,) amu
        self.beta = 1.0 / (units.kB * temperature_K)
        self.beta_P = self.beta / nbeads
        self.omega_P = 1.0 / (self.beta_P * HBAR)
        self.dt = timestep_fs * units.fs
        self.thermostat = thermostat and tau_fs is not None
        self.C = normal_mode_matrix(nbeads)
        self.omega_k = normal_mode_frequencies(nbeads, self.omega_P)
        # OBABO: free ring for dt, thermostat twice for dt/2;
        # BAOAB: free ring twice for dt/2, thermostat for dt
        a_time, o_time = (self.dt, self.dt / 2) if splitting == "obabo" else (self.dt / 2, self.dt)
        self.propagator = free_ring_propagator(self.omega_k, self.masses, a_time)
        gamma = 2 * self.omega_k  # PILE-L: critical damping of each internal mode
        gamma[0] = 1.0 / (tau_fs * units.fs) if tau_fs is not None else 0.0
        self.c1 = np.exp(-gamma * o_time)[:, None, None]
        self.c2 = np.sqrt(1 - self.c1**2)
        self.rng = np.random.default_rng(seed)
        # All beads start at the given geometry, momenta drawn at the bead temperature P T.
        self.q = np.repeat(atoms.positions[None], nbeads, axis=0)  # (P, N, 3)
        self.p = self.rng.normal(size=self.q.shape) * np.sqrt(
            self.masses[None, :, None] / self.beta_P
        )
        self.energies, self.forces = bead_forces(self.atoms, self.calc, self.q)
        self.thermostat_work = (
            0.0  # kinetic energy the thermostat removed: for the conserved quantity
        )
        self.step_count = 0
        self.conserved_start = self.conserved_quantity()  # the drift check's reference

    # -- the integrator -------------------------------------------------------------------------
    def _to_modes(self, x):
        return np.einsum("jk,jna->kna", self.C, x)

    def _to_beads(self, x):
        return np.einsum("jk,kna->jna", self.C, x)

    def _O(self):
        if not self.thermostat:
            return
        before = self.kinetic_energy()
        p = self._to_modes(self.p)
        noise = self.rng.normal(size=p.shape) * np.sqrt(self.masses[None, :, None] / self.beta_P)
        self.p = self._to_beads(self.c1 * p + self.c2 * noise)
        self.thermostat_work += before - self.kinetic_energy()

    def _B(self):
        self.p += 0.5 * self.dt * self.forces

    def _A(self):
        p, q = self._to_modes(self.p), self._to_modes(self.q)
        U = self.propagator  # (P, N, 2, 2)
        p_new = U[..., 0, 0, None] * p + U[..., 0, 1, None] * q
        q_new = U[..., 1, 0, None] * p + U[..., 1, 1, None] * q
        self.p, self.q = self._to_beads(p_new), self._to_beads(q_new)

    def step(self):
        """One time step, checked (see the class docstring); on failure the state is restored."""
        before = self._snapshot()
        try:
            self._integrate()
        except ValueError as e:  # e.g. the calculator refusing NaN or coinciding positions
            self._restore(before)
            raise DynamicsBlewUp(
                f"step {self.step_count + 1} failed ({e}); is the time step of "
                f"{self.dt / units.fs:g} fs too large? The simulation is left at step "
                f"{self.step_count}"
            ) from e
        problem = self._check(before[0])
        if problem:
            self._restore(before)
            raise DynamicsBlewUp(
                f"step {self.step_count + 1}: {problem}; is the time step of "
                f"{self.dt / units.fs:g} fs too large? The simulation is left at step "
                f"{self.step_count}"
            )

    def _check(self, q_before) -> str:
        """What is wrong after a step from positions ``q_before``, or "" if nothing."""
        arrays = {"positions": self.q, "momenta": self.p, "energies": self.energies}
        for name, array in arrays.items():
            if not np.all(np.isfinite(array)):
                return f"the {name} are no longer finite"
        if self.max_step_A is not None:
            moved = np.linalg.norm(self.q - q_before, axis=-1).max()  # Å, over beads and atoms
            if moved > self.max_step_A:
                return (
                    f"an atom moved {moved:.3g} Å in one step "
                    f"(at most {self.max_step_A:g}: max_step_A)"
                )
        if self.max_drift_eV_per_atom is None:
            return ""
        drift = (self.conserved_quantity() - self.conserved_start) / len(self.masses)
        if not abs(drift) <= self.max_drift_eV_per_atom:
            return (
                f"the conserved quantity drifted by {drift:+.3g} eV per atom since the start "
                f"(tolerance {self.max_drift_eV_per_atom:g}: max_drift_eV_per_atom)"
            )
        return ""

    def _snapshot(self):
        return (
            self.q.copy(),
            self.p.copy(),
            self.energies.copy(),
            self.forces.copy(),
            self.thermostat_work,
            self.step_count,
            self.rng.bit_generator.state,
        )

    def _restore(self, snapshot):
        (self.q, self.p, self.energies, self.forces, self.thermostat_work, self.step_count) = (
            snapshot[:6]
        )
        self.rng.bit_generator.state = snapshot[6]

    def _integrate(self):
        if self.splitting == "obabo":
            self._O()
            self._B()
            self._A()
            self.energies, self.forces = bead_forces(self.atoms, self.calc, self.q)
            self._B()
            self._O()
        else:
            self._B()
            self._A()
            self._O()
            self._A()
            self.energies, self.forces = bead_forces(self.atoms, self.calc, self.q)
            self._B()
        self.step_count += 1

    # -- estimators (eV) ------------------------------------------------------------------------
    def kinetic_energy(self) -> float:
        """Sum over beads of p^2 / 2m (the bead kinetic energy, not a quantum estimator)."""
        return float(np.sum(self.p**2 / (2 * self.masses[None, :, None])))

    def spring_energy(self) -> float:
        d = self.q - np.roll(self.q, -1, axis=0)
        return float(0.5 * self.omega_P**2 * np.sum(self.masses[None, :, None] * d**2))

    def centroid(self) -> np.ndarray:
        return self.q.mean(axis=0)

    def kinetic_primitive(self) -> float:
        """Primitive estimator: 3NP / (2β) - (1/P) sum_j m ω_P^2 ‖q_j - q_j+1‖^2 / 2."""
        return 3 * len(self.masses) * self.P / (2 * self.beta) - self.spring_energy() / self.P

    def kinetic_centroid_virial(self) -> float:
        """Centroid-virial estimator: 3N / (2β) - (1/2P) sum_j (q_j - q̄) · F_j."""
        return 3 * len(self.masses) / (2 * self.beta) - float(
            np.sum((self.q - self.centroid()) * self.forces)
        ) / (2 * self.P)

    def potential_energy(self) -> float:
        """The quantum potential energy estimator: the bead average of V."""
        return float(self.energies.mean())

    def radius_of_gyration(self) -> float:
        """Ring-polymer radius of gyration averaged over atoms: mean_a sqrt(mean_j ‖q_aj - q̄_a‖^2),
        Å (as i-PI)."""
        return float(
            np.mean(np.sqrt(np.mean(np.sum((self.q - self.centroid()) ** 2, axis=-1), axis=0)))
        )

    def conserved_quantity(self) -> float:
        """H_P / P-normalised ring-polymer energy plus the thermostat's work: constant up to
        integration error."""
        return (
            self.kinetic_energy() + self.spring_energy() + float(self.energies.sum())
        ) / self.P + self.thermostat_work / self.P

    # -- saving and resuming --------------------------------------------------------------------
    def state(self) -> dict:
        """Everything needed to continue this trajectory exactly (positions, momenta, RNG,
        counters), as plain arrays, numbers and a JSON string: ``np.savez(f, **md.state())``
        stores it and ``np.load`` reads it back without pickle."""
        return {
            "q": self.q.copy(),
            "p": self.p.copy(),
            "thermostat_work": self.thermostat_work,
            "step_count": self.step_count,
            "rng": json.dumps(self.rng.bit_generator.state),
            "conserved_start": self.conserved_start,
        }

    def load_state(self, state: dict) -> None:
        """Continue from ``state()`` (a dict, or the arrays ``np.load`` gives back of it)."""
        missing = [k for k in ("q", "p", "thermostat_work", "step_count", "rng") if k not in state]
        if missing:
            raise ValueError(f"not a saved RingPolymerMD state: {', '.join(missing)} missing")
        q, p = np.array(state["q"], dtype=float), np.array(state["p"], dtype=float)
        if q.shape != self.q.shape or p.shape != self.q.shape:
            raise ValueError(
                f"the saved state has positions of shape {q.shape} (beads, atoms, 3), this "
                f"simulation {self.q.shape}: another number of beads or another system"
            )
        self.q, self.p = q, p
        self.thermostat_work, self.step_count = (
            float(state["thermostat_work"]),
            int(state["step_count"]),
        )
        rng = state["rng"]
        self.rng.bit_generator.state = json.loads(str(rng)) if not isinstance(rng, dict) else rng
        self.energies, self.forces = bead_forces(self.atoms, self.calc, self.q)
        # states saved before the drift check existed: measure drift from here on
        start = state.get("conserved_start")
        self.conserved_start = float(start) if start is not None else self.conserved_quantity()

    # -- running --------------------------------------------------------------------------------
    def run(self, steps: int, record_every: int = 1, quiet: bool = False) -> dict:
        """Integrate ``steps`` steps; every ``record_every`` steps record positions and
        observables."""
        for name, value, low in (("steps", steps, 0), ("record_every", record_every, 1)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name} must be a whole number >= {low}, got {value!r}")
        frames = steps // record_every
        out = {
            k: np.zeros(frames)
            for k in (
                "kinetic_cv",
                "kinetic_primitive",
                "potential",
                "radius_of_gyration",
                "conserved",
                "time_fs",
            )
        }
        out["positions"] = np.zeros((frames, self.P, len(self.masses), 3))
        f = 0
        for s in progress(range(steps), quiet=quiet, desc=f"RPMD P={self.P}"):
            self.step()
            if (s + 1) % record_every == 0 and f < frames:
                out["positions"][f] = self.q
                out["kinetic_cv"][f] = self.kinetic_centroid_virial()
                out["kinetic_primitive"][f] = self.kinetic_primitive()
                out["potential"][f] = self.potential_energy()
                out["radius_of_gyration"][f] = self.radius_of_gyration()
                out["conserved"][f] = self.conserved_quantity()
                out["time_fs"][f] = self.step_count * self.dt / units.fs
                f += 1
        return out


# ---------------------------------------------------------------------------------------------
# Observables and files


def pair_distances(positions: np.ndarray) -> np.ndarray:
    """All interatomic distances of each configuration: (..., N, 3) -> (..., N(N-1)/2), Å."""
    i, j = np.triu_indices(positions.shape[-2], k=1)
    return np.linalg.norm(positions[..., j, :] - positions[..., i, :], axis=-1)


def distance_histograms(positions: np.ndarray, bins=np.linspace(1.0, 4.5, 351)) -> dict:
    """Normalised distance distributions of the beads and of the centroids (Fig. 6 right).

    positions: (frames, nbeads, natoms, 3). Returns bin centres and the two densities (1/Å).
    """
    beads, _ = np.histogram(pair_distances(positions).ravel(), bins=bins, density=True)
    centroids, _ = np.histogram(
        pair_distances(positions.mean(axis=1)).ravel(), bins=bins, density=True
    )
    return {"r": 0.5 * (bins[1:] + bins[:-1]), "beads": beads, "centroids": centroids}


def block_error(x, blocks=20):
    b = np.array_split(np.asarray(x), blocks)
    means = np.array([v.mean() for v in b if len(v)])
    return float(means.std(ddof=1) / np.sqrt(len(means))) if len(means) > 1 else float("nan")


def bonds(atoms, longest=1.8):
    """The (i, j) pairs closer than ``longest`` Å in ``atoms``: C20's 30 C-C bonds at its
    minimum."""
    i, j = np.triu_indices(len(atoms), k=1)
    bonded = pair_distances(atoms.positions) < longest
    return i[bonded], j[bonded]


def bond_statistics(q, i, j):
    """Per frame, the mean and the spread of the bond lengths over all beads: (frames,),
    (frames,) Å.

    Time series of these give the distance distribution's first two moments with block errors,
    which is how two runs' distributions are compared within their statistical errors.
    """
    d = np.linalg.norm(q[..., j, :] - q[..., i, :], axis=-1).reshape(
        len(q), -1
    )  # (frames, beads x bonds)
    return d.mean(axis=1), d.std(axis=1)


def write_run(out: dict, atoms, path_stem) -> None:
    """Observables to ``<stem>.npz`` (numpy) and the centroid trajectory to ``<stem>.extxyz``
    (ASE)."""
    import ase.io

    np.savez_compressed(f"{path_stem}.npz", **out)
    frames = []
    for q in out["positions"]:
        frame = atoms.copy()
        frame.positions = q.mean(axis=0)
        frames.append(frame)
    ase.io.write(f"{path_stem}.extxyz", frames)
