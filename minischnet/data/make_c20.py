"""Generate the C20 energy-and-force data set with GFN2-xTB (tblite). Resumable, deterministic.

    python -m minischnet.data.make_c20 --out data/c20 [--n-train 20000 --n-test 2000]

What a 300 K ring-polymer simulation with 8 beads visits is much wider than classical 300 K MD:
every bead carries zero-point motion (ħω/2k is about 1100 K for C20's C-C stretches). We cover
it with two kinds of samples, each a real GFN2-xTB energy and force:

  * normal-mode samples: displacements along the harmonic normal modes of the relaxed cage,
    each mode with the quantum-thermal variance  <q_k^2> = ħ/(2ω_k) coth(ħω_k / 2kT)
    (mass-weighted), T drawn uniformly from 300-1200 K: the harmonic picture of the RPMD beads,
    and wider;
  * Langevin MD trajectories at 600, 900 and 1200 K (1 fs steps, a frame every 10 steps), for
    anharmonic configurations the harmonic picture misses.

Train: 90% normal-mode samples + 10% MD frames. Test: from independent trajectories and
independent normal-mode draws (other seeds), never touching the training samples.
Work goes in chunks of 500 samples (one .npz each in --out/chunks); a rerun skips finished
chunks, so the job resumes where it stopped. ``--assemble`` writes the final c20.npz + metadata.

SCF accuracy (tblite's ``accuracy``, 1.0 by default; smaller is tighter) is explicit in every
call: the labels at 1.0, as the shipped c20.npz was made; the relaxation and the Hessian at
0.01, where the softest modes are converged (at 1.0 the finite-difference Hessian put them at
91 and 96 cm^-1 instead of 124 and 124). ``--accuracy-report`` measures what the choice
changes and writes accuracy.json beside the data (data/README.md quotes it).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
from ase import units
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import thermalize_momenta
from ase.optimize import BFGS

from .._atomic import atomic_write
from ..resources import user_dir
from .c20 import c20_cage

CHUNK = 500
MD_TEMPERATURES = (600.0, 900.0, 1200.0)
MD_STRIDE = 10


LABEL_ACCURACY = 1.0  # tblite's default: the energies and forces of the shipped data set
HESSIAN_ACCURACY = 0.01  # finite differences of forces need converged SCF forces


def calculator(accuracy: float = LABEL_ACCURACY):
    from tblite.ase import TBLite

    return TBLite(method="GFN2-xTB", verbosity=0, accuracy=accuracy)


def relaxed_cage(out: Path):
    path = out / "minimum.npz"
    if path.exists():
        return np.load(path)["positions"]
    atoms = c20_cage()
    atoms.calc = calculator(HESSIAN_ACCURACY)
    BFGS(atoms, logfile=None).run(fmax=1e-4, steps=500)
    np.savez(path, positions=atoms.positions)
    return atoms.positions


def normal_modes(out: Path, positions):
    """Mass-weighted normal modes: frequencies ω (1/fs-scaled ASE units) and mode vectors."""
    path = out / "modes.npz"
    if path.exists():
        d = np.load(path)
        return d["omega"], d["modes"]
    omega, modes = harmonic_modes(positions, HESSIAN_ACCURACY)
    np.savez(path, omega=omega, modes=modes, accuracy=HESSIAN_ACCURACY)
    return omega, modes


def harmonic_modes(positions, accuracy, h=1e-3):
    """ω (ASE units) and mass-weighted modes of the Hessian from central differences of the
    forces (step ``h`` Å) at SCF ``accuracy``; translations and rotations dropped."""
    atoms = c20_cage()
    atoms.positions = positions
    atoms.calc = calculator(accuracy)
    n = 3 * len(atoms)
    hessian = np.zeros((n, n))
    for k in range(n):
        plus, minus = positions.copy(), positions.copy()
        plus.flat[k] += h
        minus.flat[k] -= h
        atoms.positions = plus
        f_plus = atoms.get_forces().ravel()
        atoms.positions = minus
        f_minus = atoms.get_forces().ravel()
        hessian[k] = -(f_plus - f_minus) / (2 * h)
    hessian = 0.5 * (hessian + hessian.T)
    m = np.repeat(atoms.get_masses(), 3)
    eigval, eigvec = np.linalg.eigh(hessian / np.sqrt(np.outer(m, m)))
    keep = eigval > 1e-3 * eigval.max()  # drop 3 translations + 3 rotations
    if keep.sum() != n - 6:
        raise RuntimeError(f"expected {n - 6} vibrations, found {keep.sum()}: is the cage relaxed?")
    return np.sqrt(eigval[keep]), eigvec[:, keep]  # ASE units: sqrt(eV / (Å^2 amu))


def wavenumbers(omega):
    """ω in ASE units (sqrt(eV / (Å^2 amu))) -> cm^-1."""
    return omega * np.sqrt(units._e / units._amu) * 1e10 / (2 * np.pi * units._c * 100)


def accuracy_report(out: Path, old_modes: Path, n_samples: int = 200) -> dict:
    """What tblite's SCF accuracy changes: the softest modes (two step sizes each), the
    normal-mode samples drawn from the old and the new modes (same seeds), the labels of
    shipped structures, and the energy drift of GFN2-xTB NVE."""
    positions = np.load(out / "minimum.npz")["positions"]
    report = {"command": "python -m minischnet.data.make_c20 --accuracy-report --out " + str(out)}
    modes = {}
    for accuracy in (1.0, HESSIAN_ACCURACY):
        for h in (1e-3, 5e-3):
            omega, vectors = harmonic_modes(positions, accuracy, h)
            report[f"softest_cm-1 accuracy={accuracy} h={h}"] = wavenumbers(omega[:4]).tolist()
            modes.setdefault(accuracy, (omega, vectors))
    # the shipped samples were drawn from old_modes: the same draws with the fixed modes
    old = np.load(old_modes)
    probe = calculator(HESSIAN_ACCURACY)
    atoms = c20_cage()
    atoms.positions, atoms.calc = positions, probe
    e_min = atoms.get_potential_energy()
    for name, (omega, vectors) in (("old", (old["omega"], old["modes"])), ("fixed", modes[0.01])):
        samples = normal_mode_samples(positions, omega, vectors, n_samples, seed=1000)
        shift = np.array([np.sqrt(np.mean(np.sum((R - positions) ** 2, axis=1))) for R in samples])
        energies = []
        for R in samples:
            atoms.positions = R
            energies.append(atoms.get_potential_energy() - e_min)
        report[f"samples from {name} modes"] = dict(
            rms_displacement_A=[float(shift.mean()), float(shift.std())],
            energy_above_minimum_eV=[float(np.mean(energies)), float(np.std(energies))],
            n=n_samples,
        )
    # labels: the shipped structures at both accuracies
    shipped = np.load(out / "c20.npz")
    dE, dF = [], []
    loose, tight = calculator(1.0), calculator(HESSIAN_ACCURACY)
    for R in shipped["test_R"][::100]:
        values = []
        for calc in (loose, tight):
            atoms.positions, atoms.calc = R, calc
            values.append((atoms.get_potential_energy(), atoms.get_forces()))
        dE.append(abs(values[0][0] - values[1][0]))
        dF.append(np.abs(values[0][1] - values[1][1]).max())
    report["labels: accuracy 1.0 against 0.01, every 100th test structure"] = dict(
        max_energy_difference_eV=float(max(dE)), max_force_difference_eV_per_A=float(max(dF))
    )
    # NVE from the minimum with 300 K momenta, 0.5 fs steps, 0.5 ps: the drift of the energy
    from ..md import RingPolymerMD

    for accuracy in (1.0, HESSIAN_ACCURACY):
        atoms.positions = positions
        md = RingPolymerMD(atoms, calculator(accuracy), 1, 300.0, 0.5, tau_fs=None, seed=0)
        run = md.run(1000, record_every=10, quiet=True)
        slope = np.polyfit(run["time_fs"] / 1000, run["conserved"], 1)[0]
        report[f"NVE accuracy={accuracy}: energy drift, meV/ps (0.5 ps, 0.5 fs steps)"] = float(
            1000 * slope
        )
    return report


def normal_mode_samples(positions, omega, modes, n, seed):
    masses = c20_cage().get_masses()
    rng = np.random.default_rng(seed)
    hbar = units._hbar * units.J * units.s  # eV * (ASE time)
    out = []
    for _ in range(n):
        T = rng.uniform(300.0, 1200.0)
        x = hbar * omega / (2 * units.kB * T)
        variance = hbar / (2 * omega) / np.tanh(x)  # <q^2> of a mass-weighted coordinate
        q = rng.normal(size=omega.shape) * np.sqrt(variance)
        out.append(positions + (modes @ q).reshape(-1, 3) / np.sqrt(masses)[:, None])
    return out


def md_samples(positions, n, temperature, seed):
    atoms = c20_cage()
    atoms.positions = positions
    atoms.calc = calculator(LABEL_ACCURACY)
    rng = np.random.default_rng(seed)
    thermalize_momenta(atoms, temperature_K=temperature, rng=rng)
    dyn = Langevin(
        atoms,
        1.0 * units.fs,
        temperature_K=temperature,
        friction=0.01 / units.fs,
        fixcm=False,
        rng=rng,
    )
    dyn.run(500)  # equilibrate
    out = []
    for _ in range(n):
        dyn.run(MD_STRIDE)
        out.append(atoms.positions.copy())
    return out


def label(structures):
    atoms = c20_cage()
    atoms.calc = calculator(LABEL_ACCURACY)
    E, F = [], []
    for R in structures:
        atoms.positions = R
        E.append(atoms.get_potential_energy())
        F.append(atoms.get_forces())
    return np.array(E), np.array(F)


def plan(n_train, n_test):
    """The chunks: (name, kind, count, seed, temperature)."""
    chunks = []
    n_md_train = n_train // 10
    for split, n_nm, n_md, base in (
        ("train", n_train - n_md_train, n_md_train, 1000),
        ("test", n_test // 2, n_test - n_test // 2, 2000),
    ):
        for c in range(0, n_nm, CHUNK):
            chunks.append(
                (
                    f"{split}_nm_{c // CHUNK:03d}",
                    split,
                    "normal_modes",
                    min(CHUNK, n_nm - c),
                    base + c // CHUNK,
                    None,
                )
            )
        per_t = -(-n_md // len(MD_TEMPERATURES))
        for t, T in enumerate(MD_TEMPERATURES):
            n_t = min(per_t, n_md - t * per_t)
            for c in range(0, n_t, CHUNK):
                chunks.append(
                    (
                        f"{split}_md{int(T)}_{c // CHUNK:03d}",
                        split,
                        "md",
                        min(CHUNK, n_t - c),
                        base + 500 + 10 * t + c // CHUNK,
                        T,
                    )
                )
    return chunks


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=user_dir() / "c20",
        help="folder (default: your user data folder, where minischnet.data finds it)",
    )
    parser.add_argument("--n-train", type=int, default=20000)
    parser.add_argument("--n-test", type=int, default=2000)
    parser.add_argument(
        "--assemble", action="store_true", help="only write c20.npz from finished chunks"
    )
    parser.add_argument(
        "--accuracy-report",
        metavar="OLD_MODES",
        type=Path,
        help="measure what tblite's SCF accuracy changes against the modes in OLD_MODES; "
        "writes accuracy.json into --out",
    )
    args = parser.parse_args(argv)
    if args.accuracy_report:
        report = accuracy_report(args.out, args.accuracy_report)
        report["command"] += f" {args.accuracy_report}"
        (args.out / "accuracy.json").write_text(json.dumps(report, indent=1))
        print(json.dumps(report, indent=1))
        return
    (args.out / "chunks").mkdir(parents=True, exist_ok=True)

    positions = relaxed_cage(args.out)
    omega, modes = normal_modes(args.out, positions)
    chunks = plan(args.n_train, args.n_test)
    if not args.assemble:
        for name, split, kind, n, seed, T in chunks:
            path = args.out / "chunks" / f"{name}.npz"
            if path.exists():
                continue
            t0 = time.time()
            if kind == "normal_modes":
                R = normal_mode_samples(positions, omega, modes, n, seed)
            else:
                R = md_samples(positions, n, T, seed)
            E, F = label(R)
            with atomic_write(path) as f:  # a chunk is there whole or not at all
                np.savez(f, R=np.array(R), E=E, F=F, seed=seed)
            print(f"{name}: {n} samples in {time.time() - t0:.0f} s", flush=True)
    assemble(args, chunks)


def assemble(args, chunks):
    from importlib.metadata import version

    data, meta_chunks = {}, []
    for name, split, kind, n, seed, T in chunks:
        path = args.out / "chunks" / f"{name}.npz"
        if not path.exists():
            print(f"not finished: {name}; run again to resume", file=sys.stderr)
            return
        d = np.load(path)
        for key in ("R", "E", "F"):
            data.setdefault((split, key), []).append(d[key])
        meta_chunks.append(dict(name=name, split=split, kind=kind, n=n, seed=seed, temperature_K=T))
    arrays = {
        f"{split}_{key}": np.concatenate(v).astype(np.float64) for (split, key), v in data.items()
    }
    np.savez_compressed(args.out / "c20.npz", **arrays)
    meta = dict(
        method="GFN2-xTB",
        program="tblite",
        program_version=version("tblite"),
        tblite_settings=f"TBLite(method='GFN2-xTB', accuracy={LABEL_ACCURACY}), one calculator "
        f"per chunk; minimum and Hessian at accuracy={HESSIAN_ACCURACY}",
        units=dict(positions="Å", energy="eV", forces="eV/Å"),
        n_train=len(arrays["train_E"]),
        n_test=len(arrays["test_E"]),
        sampling=" ".join(__doc__.split("\n\n")[2:4]),
        md_temperatures_K=list(MD_TEMPERATURES),
        md_stride=MD_STRIDE,
        chunks=meta_chunks,
        command="python -m minischnet.data.make_c20 "
        + " ".join(a for a in sys.argv[1:] if a != "--assemble"),
        machine=platform.platform(),
        python=platform.python_version(),
    )
    (args.out / "c20.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False))
    print(f"wrote {args.out / 'c20.npz'}: {meta['n_train']} train, {meta['n_test']} test")


if __name__ == "__main__":
    main()
