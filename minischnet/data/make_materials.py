"""Generate a crystal data set over 60 elements with GFN1-xTB (tblite), for element embeddings
(Fig. 5).

    python -m minischnet.data.make_materials --out data/materials [--variants 4]

The Materials Project is out of reach offline, so we make crystals ourselves:
  * elemental crystals of every element in fcc, bcc, hcp, simple cubic and diamond structures;
  * binary AB compounds (rocksalt, CsCl, zincblende, wurtzite), AB2 (fluorite) and ABO3
    (cubic perovskite), for seeded random pairs of an electropositive and an electronegative
    element;
  * lattice constants from covalent radii (nearest-neighbour distance r_A + r_B, scaled by a
    random factor 0.95-1.10), and each base structure again strained (±4 %, random) and rattled
    (σ = 0.04 Å): ``--variants`` structures per base structure.
Each primitive cell is labelled with the GFN1-xTB energy of its 2x2x2 supercell divided by 8:
tblite samples the Brillouin zone at Γ only, so a primitive cell alone gives poor energies.
SCF failures are retried with 500 iterations at an electronic temperature of 3000 K; what still
fails is recorded in the metadata and left out, never labelled with a wrong number.
Formation energies per atom are taken against the lowest-energy elemental crystal of each element
(unperturbed base structures), and for the molecular elements H, N, O, F, Cl, Br, I against the
relaxed diatomic molecule when that is lower (a dense crystal of O or F is far above O2 or F2, which
would make every oxide and fluoride look 5-25 eV/atom too stable). Cells whose formation energy per
atom is still outside +-MAX_FORMATION_EV eV/atom are left out and recorded as implausible: an SCF
that found an unphysical state, or a prototype absurd for its elements (dense fcc fluorine); real
compounds lie well inside (the most stable fluorides and oxides near -4 eV/atom).
Work goes in chunks (resumable); ``--assemble`` writes the result.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.data import atomic_numbers, covalent_radii

from .._atomic import atomic_write
from ..resources import user_dir

ELEMENTS = (
    "H Li Be B C N O F Na Mg Al Si P S Cl K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br "
    "Rb Sr Y Zr Nb Mo Ru Rh Pd Ag Cd In Sn Sb Te I Cs Ba La Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi"
).split()
CATIONS = [
    e
    for e in ELEMENTS
    if e not in {"H", "B", "C", "N", "O", "F", "P", "S", "Cl", "Se", "Br", "I", "Te", "As"}
]
ANIONS = ["N", "O", "F", "P", "S", "Cl", "As", "Se", "Br", "Sb", "Te", "I", "C", "Si", "Ge", "Sn"]
ELEMENTAL = ("fcc", "bcc", "hcp", "sc", "diamond")
CHUNK = 200
MOLECULES = {
    "H": 0.74,
    "N": 1.10,
    "O": 1.21,
    "F": 1.42,
    "Cl": 1.99,
    "Br": 2.28,
    "I": 2.67,
}  # start bond, Å
MAX_FORMATION_EV = 5.0


def radius(symbol):
    return covalent_radii[atomic_numbers[symbol]]


def elemental(symbol, prototype, d):
    """Primitive cell of an elemental crystal with nearest-neighbour distance d (Å)."""
    if prototype == "fcc":
        return bulk(symbol, "fcc", a=d * 2**0.5)
    if prototype == "bcc":
        return bulk(symbol, "bcc", a=2 * d / 3**0.5)
    if prototype == "hcp":
        return bulk(symbol, "hcp", a=d, c=d * (8 / 3) ** 0.5)
    if prototype == "sc":
        return bulk(symbol, "sc", a=d)
    return bulk(symbol, "diamond", a=4 * d / 3**0.5)


def compound(a, b, prototype, d):
    if prototype == "rocksalt":
        return bulk(a + b, "rocksalt", a=2 * d)
    if prototype == "cesiumchloride":
        return bulk(a + b, "cesiumchloride", a=2 * d / 3**0.5)
    if prototype == "zincblende":
        return bulk(a + b, "zincblende", a=4 * d / 3**0.5)
    if prototype == "wurtzite":
        return bulk(a + b, "wurtzite", a=d * (8 / 3) ** 0.5, c=d * (8 / 3) ** 0.5 * (8 / 3) ** 0.5)
    if prototype == "fluorite":
        return bulk(a + b + "2", "fluorite", a=4 * d / 3**0.5)
    if prototype == "perovskite":  # ABO3, B-O = d
        lattice = 2 * d
        frac = [[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]]
        return Atoms(a + b + "O3", scaled_positions=frac, cell=np.eye(3) * lattice, pbc=True)
    raise ValueError(prototype)


def base_structures(seed=0):
    """(name, Atoms) of every base structure, in a fixed order."""
    rng = np.random.default_rng(seed)
    out = []
    for e in ELEMENTS:
        for p in ELEMENTAL:
            out.append((f"{e}-{p}", elemental(e, p, 2 * radius(e) * rng.uniform(0.95, 1.10)), True))
    for p in ("rocksalt", "cesiumchloride", "zincblende", "wurtzite"):
        for _ in range(400):
            a, b = rng.choice(CATIONS), rng.choice(ANIONS)
            out.append(
                (
                    f"{a}{b}-{p}",
                    compound(a, b, p, (radius(a) + radius(b)) * rng.uniform(0.95, 1.10)),
                    False,
                )
            )
    for _ in range(300):
        a, b = rng.choice(CATIONS), rng.choice(["F", "Cl", "O", "S", "H", "N"])
        out.append(
            (
                f"{a}{b}2-fluorite",
                compound(a, b, "fluorite", (radius(a) + radius(b)) * rng.uniform(0.95, 1.10)),
                False,
            )
        )
    for _ in range(300):
        a, b = rng.choice(CATIONS), rng.choice(CATIONS)
        out.append(
            (
                f"{a}{b}O3-perovskite",
                compound(a, b, "perovskite", (radius(b) + radius("O")) * rng.uniform(0.95, 1.10)),
                False,
            )
        )
    return out


def variants(name, atoms, n, seed):
    """The base structure and n - 1 strained, rattled copies."""
    rng = np.random.default_rng(seed)
    out = [(name, atoms.copy())]
    for k in range(1, n):
        v = atoms.copy()
        strain = np.eye(3) + rng.uniform(-0.04, 0.04, (3, 3))
        v.set_cell(v.cell.array @ (0.5 * (strain + strain.T)), scale_atoms=True)
        v.positions += rng.normal(0, 0.04, v.positions.shape)
        out.append((f"{name}~{k}", v))
    return out


def supercell_energy(atoms):
    """GFN1-xTB energy (eV) of the primitive cell from its 2x2x2 supercell; None if the SCF
    fails."""
    from tblite.ase import TBLite

    supercell = atoms.repeat((2, 2, 2))
    # SCF accuracy explicit (1.0, tblite's default, as the shipped data set was made)
    for settings in ({}, {"max_iterations": 500, "electronic_temperature": 3000.0}):
        supercell.calc = TBLite(method="GFN1-xTB", verbosity=0, accuracy=1.0, **settings)
        try:
            return supercell.get_potential_energy() / 8, settings
        except (
            Exception
        ):  # tblite raises CalculationFailed (and others) when the SCF does not converge
            continue
    return None, None


def molecule_reference(symbol) -> float:
    """GFN1-xTB energy per atom (eV) of the relaxed diatomic molecule of ``symbol`` (no
    periodicity)."""
    from ase.optimize import BFGS
    from tblite.ase import TBLite

    molecule = Atoms(symbol + "2", positions=[[0, 0, 0], [0, 0, MOLECULES[symbol]]])
    molecule.calc = TBLite(method="GFN1-xTB", verbosity=0, accuracy=1.0)  # tblite's default
    BFGS(molecule, logfile=None).run(fmax=1e-3, steps=200)
    return molecule.get_potential_energy() / 2


def all_structures(n_variants, seed=0):
    structures = []
    for k, (name, atoms, is_elemental) in enumerate(base_structures(seed)):
        for vname, v in variants(name, atoms, n_variants, seed + 1 + k):
            structures.append((vname, v, is_elemental and "~" not in vname))
    return structures


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=user_dir() / "materials",
        help="folder (default: your user data folder, where minischnet.data finds it)",
    )
    parser.add_argument("--variants", type=int, default=5)
    parser.add_argument("--assemble", action="store_true")
    parser.add_argument(
        "--reverse",
        action="store_true",
        help=(
            "work from the last chunk backwards: "
            "a second process beside a forward one halves the time"
        ),
    )
    args = parser.parse_args(argv)
    (args.out / "chunks").mkdir(parents=True, exist_ok=True)
    structures = all_structures(args.variants)
    n_chunks = -(-len(structures) // CHUNK)
    if not args.assemble:
        for c in reversed(range(n_chunks)) if args.reverse else range(n_chunks):
            path = args.out / "chunks" / f"chunk_{c:03d}.json"
            if path.exists():
                continue
            t0 = time.time()
            rows = []
            for name, atoms, _ in structures[c * CHUNK : (c + 1) * CHUNK]:
                energy, settings = supercell_energy(atoms)
                rows.append(dict(name=name, energy=energy, settings=settings))
            with atomic_write(path, "w") as f:
                f.write(json.dumps(rows))
            print(
                f"chunk {c + 1}/{n_chunks}: "
                f"{sum(r['energy'] is not None for r in rows)}/{len(rows)} converged, "
                f"{time.time() - t0:.0f} s",
                flush=True,
            )
    assemble(args, structures, n_chunks)


def assemble(args, structures, n_chunks):
    from importlib.metadata import version

    rows = []
    for c in range(n_chunks):
        path = args.out / "chunks" / f"chunk_{c:03d}.json"
        if not path.exists():
            print(f"not finished: chunk {c}; run again to resume", file=sys.stderr)
            return
        rows += json.loads(path.read_text())
    if len(rows) != len(structures) or any(
        r["name"] != name for (name, _, _), r in zip(structures, rows)
    ):
        raise ValueError(
            "the chunks do not match the structures of this version of make_materials: "
            "make them again"
        )
    # elemental references: lowest energy per atom of each element's unperturbed crystals
    mu = {}
    for (name, atoms, is_ref), row in zip(structures, rows):
        if is_ref and row["energy"] is not None:
            e = row["energy"] / len(atoms)
            mu[atoms[0].symbol] = min(mu.get(atoms[0].symbol, np.inf), e)
    crystal_mu = dict(mu)
    molecule_mu = {e: molecule_reference(e) for e in MOLECULES if e in mu}
    mu = {e: min(v, molecule_mu.get(e, np.inf)) for e, v in mu.items()}
    # Names repeat (a random pair can be drawn twice, with another lattice constant): a structure is
    # identified by its index, its position in all_structures(variants, seed).
    keep, failed, no_reference, implausible = [], [], [], []
    for index, ((name, atoms, _), row) in enumerate(zip(structures, rows)):
        if row["energy"] is None:
            failed.append(index)
        elif any(s not in mu for s in atoms.get_chemical_symbols()):
            no_reference.append(index)
        else:
            reference = sum(mu[s] for s in atoms.get_chemical_symbols())
            if abs(row["energy"] - reference) > MAX_FORMATION_EV * len(atoms):
                implausible.append(index)
            else:
                keep.append((name, atoms, row["energy"], reference, index))
    names, cells, energy, reference, indices = zip(*keep)
    energy, reference = np.array(energy), np.array(reference)
    Z = np.concatenate([a.numbers for a in cells])
    R = np.concatenate([a.positions for a in cells])
    counts = np.array([len(a) for a in cells])
    np.savez_compressed(
        args.out / "materials.npz",
        Z=Z,
        R=R,
        start=np.concatenate([[0], np.cumsum(counts)]),
        cell=np.array([a.cell.array for a in cells]),
        energy=energy,
        formation_energy=energy - reference,
        formation_energy_per_atom=(energy - reference) / counts,
        name=np.array(names),
        index=np.array(indices),
    )
    meta = dict(
        method="GFN1-xTB",
        program="tblite",
        program_version=version("tblite"),
        labelling=(
            "energy of the 2x2x2 supercell / 8; "
            "SCF retried with max_iterations=500, electronic_temperature=3000 K"
        ),
        units=dict(
            positions="Å", energy="eV per primitive cell", formation_energy="eV per primitive cell"
        ),
        n_structures=len(keep),
        n_failed_scf=len(failed),
        failed_scf=[structures[k][0] for k in failed],
        failed_scf_index=failed,
        n_without_reference=len(no_reference),
        without_reference=[structures[k][0] for k in no_reference],
        without_reference_index=no_reference,
        max_formation_eV_per_atom=MAX_FORMATION_EV,
        n_implausible=len(implausible),
        implausible=[structures[k][0] for k in implausible],
        implausible_index=implausible,
        crystal_references_eV_per_atom=crystal_mu,
        molecule_references_eV_per_atom=molecule_mu,
        elements=sorted(mu, key=lambda s: atomic_numbers[s]),
        elemental_references_eV_per_atom=mu,
        variants=args.variants,
        seed=0,
        command="python -m minischnet.data.make_materials "
        + " ".join(a for a in sys.argv[1:] if a not in ("--assemble", "--reverse")),
        machine=platform.platform(),
        retried=sum(1 for r in rows if r["settings"]),
    )
    (args.out / "materials.json").write_text(json.dumps(meta, indent=1))
    print(
        f"wrote {args.out / 'materials.npz'}: {len(keep)} structures, {len(failed)} SCF failures, "
        f"{len(no_reference)} without an elemental reference, {len(implausible)} implausible "
        f"(|formation energy| > {MAX_FORMATION_EV} eV/atom), {len(mu)} elements"
    )


if __name__ == "__main__":
    main()
