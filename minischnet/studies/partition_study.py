"""Fig. 4's open question, asked of many models: how does each split energy among its hydrogens?

    python -m minischnet.studies.partition_study --out data/results/abb4_partition/partition.json
        MODEL.pt ...

The thesis summary's Fig. 4 puts the lowest hydrogen-probe potential of N-formylformamide beside the
oxygens; our models disagree with each other: most put it beside the nitrogen and the N–H hydrogen,
the two trained on all 110,000 molecules put their lowest patches at the oxygens (and disagree on
the N–H vacancy). A probe's potential is one more atom-wise term of eq. (3), so where it is low
depends on how the model splits real molecules (``interpret.energy_by_partner``), which training
alone decides. For each model this records, on the first ``--molecules`` QM9 test molecules, the
mean atom-wise energy of hydrogens bonded to C, N and O, the gaps H(O) − H(C) and H(N) − H(C); on
the probe shell (1.2 Å) around N-formylformamide, which atoms its lowest 3 % are nearest to (the
tail) and the mean potential on each atom's patch of the shell (the whole picture:
``interpret.mean_by_nearest``); and, with the N–H hydrogen removed, how low the potential lies at
its vacancy (``interpret.rank_at``). Rows for several training-set sizes and seeds show whether the
split is a property of the architecture and data or an accident of one run.

The independent truth is quantum chemistry: GFN2-xTB (tblite) gives the energy of putting a hydrogen
at each point of the same shell (``interpret.insertion_energy``; no masking, no relaxation), and it
binds the hydrogen most strongly beside the oxygens, as the thesis says. Each row also records how
well the model's masked probe potential, and its own insertion energy, follow GFN2-xTB's on the
shell (Pearson and Spearman correlations over the points and over the eight patch means, and which
atoms the lowest 3 % of its insertion energies lie next to).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def partition_row(
    model,
    molecules,
    probe_molecule,
    distance: float = 1.2,
    points_per_atom: int = 300,
    reference=None,
    vacancy=None,
    groups=None,
) -> dict:
    """One model's hydrogen split (eV) and where its probe minimum sits: a row of the study.

    ``groups``: the model's ``energy_by_partner(model, molecules, "H")``, when already computed
    (it does not depend on the shell).

    ``reference``: insertion energies (eV) of a reference method on the same shell points
    (``probe_surface(probe_molecule, distance, points_per_atom)``); with it the row also says how
    well the model's masked potential and its own insertion energy follow them.
    ``vacancy``: (molecule without one atom, where that atom was); with it the row also says how
    low the masked potential lies at the vacancy (``interpret.rank_at`` on the same kind of shell).
    """
    from ..calculator import Calculator
    from ..interpret import (
        correlations,
        energy_by_partner,
        insertion_energy,
        local_potential,
        lowest_nearest,
        mean_by_nearest,
        probe_surface,
    )

    groups = energy_by_partner(model, molecules, "H") if groups is None else groups
    missing = {"C", "N", "O"} - set(groups)
    if missing:
        raise ValueError(
            f"no hydrogen bonded to {', '.join(sorted(missing))} "
            f"in these {len(molecules)} molecules: use more"
        )
    mean = {partner: float(e.mean()) for partner, e in groups.items()}
    points = probe_surface(probe_molecule, distance=distance, points_per_atom=points_per_atom)
    potential = local_potential(model, probe_molecule, points, probe="H")
    patches = mean_by_nearest(probe_molecule, points, potential)
    info = getattr(model, "info", {})
    compared = {}
    if reference is not None:
        reference = np.asarray(reference, dtype=np.float64)
        if reference.shape != potential.shape:
            raise ValueError(
                f"reference has {reference.shape} values for {potential.shape[0]} shell points"
            )
        inserted = insertion_energy(Calculator(model), probe_molecule, points)
        reference_patches = mean_by_nearest(probe_molecule, points, reference)
        compared = {
            "masked_vs_reference": correlations(potential, reference),
            "patch_means_vs_reference": correlations(
                [patches[k] for k in reference_patches], list(reference_patches.values())
            ),
            "insertion_vs_reference": correlations(inserted, reference),
            "insertion_lowest_3_percent_nearest": lowest_nearest(probe_molecule, points, inserted),
        }
    if vacancy is not None:
        compared["vacancy"] = at_vacancy(
            lambda radical, points_r: local_potential(model, radical, points_r, probe="H"),
            vacancy,
            distance,
            points_per_atom,
        )
    return {
        "n_train": info.get("n_train"),
        "seed": int(_option(info.get("command", ""), "--seed", "0")),
        "atomref": _option(info.get("command", ""), "--atomref", "fit"),
        "n_interactions": info.get("hyperparameters", {}).get("n_interactions"),
        "test_energy_mae": info.get("test_energy_mae"),
        "epochs": info.get("epochs"),
        "finished": info.get("finished"),
        "h_energy_mean": mean,
        "h_count": {partner: int(len(e)) for partner, e in groups.items()},
        "gap_O_minus_C": mean["O"] - mean["C"],
        "gap_N_minus_C": mean["N"] - mean["C"],
        "shell_distance": distance,
        "lowest_3_percent_nearest": lowest_nearest(probe_molecule, points, potential),
        "patch_means": patches,
        "lowest_patch": min(patches, key=patches.get),
        **compared,
    }


def at_vacancy(energies, vacancy, distance: float, points_per_atom: int) -> dict:
    """``interpret.rank_at`` of ``energies(radical, points)`` on the probe shell of ``vacancy`` =
    (molecule without one atom, where that atom was): how low a potential lies at the vacancy.

    On shells far outside the atoms no point lies within 0.6 Å of where the atom was; then the
    spot measured is the shell point nearest to it (``centre_shifted_by``: how far, Å)."""
    from ..interpret import probe_surface, rank_at

    radical, position = vacancy
    points = probe_surface(radical, distance=distance, points_per_atom=points_per_atom)
    gap = np.linalg.norm(points - np.asarray(position, dtype=np.float64), axis=1)
    shift = float(gap.min()) if gap.min() > 0.6 else 0.0
    centre = points[np.argmin(gap)] if shift else position
    ranked = rank_at(points, energies(radical, points), centre)
    return {**ranked, "centre_shifted_by": shift} if shift else ranked


def reference_shell(
    probe_molecule, distance: float = 1.2, points_per_atom: int = 300, vacancy=None
) -> dict:
    """GFN2-xTB (tblite) insertion energies of a hydrogen on the probe shell: the study's truth.

    With ``vacancy`` = (molecule without one atom, where it was), also ``rank_at`` of GFN2-xTB's
    insertion energies on that molecule's shell: how low the vacancy lies for quantum chemistry.
    """
    from tblite.ase import TBLite

    from ..interpret import insertion_energy, lowest_nearest, mean_by_nearest, probe_surface

    xtb = TBLite(method="GFN2-xTB", verbosity=0, accuracy=1.0)  # tblite's default, explicit
    points = probe_surface(probe_molecule, distance=distance, points_per_atom=points_per_atom)
    energies = insertion_energy(xtb, probe_molecule, points)
    result = {
        "method": "GFN2-xTB (tblite), E(molecule + H) - E(molecule) - E(H), no relaxation",
        "shell_distance": distance,
        "points_per_atom": points_per_atom,
        "n_points": len(points),
        "min": float(energies.min()),
        "median": float(np.median(energies)),
        "max": float(energies.max()),
        "lowest_3_percent_nearest": lowest_nearest(probe_molecule, points, energies),
        "patch_means": mean_by_nearest(probe_molecule, points, energies),
    }
    if vacancy is not None:
        result["vacancy"] = at_vacancy(
            lambda radical, points_r: insertion_energy(xtb, radical, points_r),
            vacancy,
            distance,
            points_per_atom,
        )
    return {**result, "energies": energies}


def _option(command: str, flag: str, default: str) -> str:
    """The value of ``flag`` in a recorded training command (its default when absent)."""
    words = command.split()
    return words[words.index(flag) + 1] if flag in words else default


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("models", nargs="+", help="model files (minischnet.load)")
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument("--molecules", type=int, default=1000, help="QM9 test molecules to split")
    parser.add_argument(
        "--shells",
        type=float,
        nargs="+",
        default=[1.2],
        help="distances (Å) of the probe shells outside the atoms' radii; one row per model "
        "and shell, GFN2-xTB on each",
    )
    args = parser.parse_args(argv)

    from .. import data, load
    from ..interpret import energy_by_partner, removed_position

    qm9 = data.qm9()
    molecules = [qm9[int(i)] for i in data.qm9_split("test")[: args.molecules]]
    mol, radical = data.n_formylformamide(qm9)
    vacancy = (radical, removed_position(mol, radical))
    models = {path: load(path) for path in args.models}
    groups = {path: energy_by_partner(model, molecules, "H") for path, model in models.items()}
    references, rows = [], []
    for distance in args.shells:
        reference = reference_shell(mol, distance=distance, vacancy=vacancy)
        references.append({k: v for k, v in reference.items() if k != "energies"})
        print(
            f"GFN2-xTB on the {reference['shell_distance']} Å shell: "
            f"insertion energy {reference['min']:.2f} to {reference['max']:.2f} eV, "
            f"lowest 3 % nearest to {reference['lowest_3_percent_nearest']}; "
            f"without the N-H hydrogen: {reference['vacancy']}",
            flush=True,
        )
        for path, model in models.items():
            row = {
                "model": str(path),
                **partition_row(
                    model,
                    molecules,
                    mol,
                    distance=distance,
                    reference=reference["energies"],
                    vacancy=vacancy,
                    groups=groups[path],
                ),
            }
            rows.append(row)
            # a checkpoint (best.pt) records no training set or test error, a model.pt does
            mae = row["test_energy_mae"]
            print(
                f"{path} ({distance} Å): N = {row['n_train'] or 'not recorded'}, "
                f"seed {row['seed']}, "
                f"test MAE {'not recorded' if mae is None else format(mae, '.4f') + ' eV'}, "
                f"H(O) - H(C) = {row['gap_O_minus_C']:+.3f} eV, "
                f"H(N) - H(C) = {row['gap_N_minus_C']:+.3f} eV, "
                f"lowest 3 % of the shell nearest to {row['lowest_3_percent_nearest']}, "
                f"lowest patch {row['lowest_patch']}, masked potential vs GFN2-xTB: Spearman "
                f"{row['masked_vs_reference']['spearman']:+.2f} (points), "
                f"{row['patch_means_vs_reference']['spearman']:+.2f} (patches); "
                f"vacancy {row['vacancy']}",
                flush=True,
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    argv = sys.argv[1:] if argv is None else argv
    result = {
        "command": "python -m minischnet.studies.partition_study " + " ".join(argv),
        "molecules": f"the first {args.molecules} of qm9_split('test')",
        "n_molecules": args.molecules,
        **(
            {"reference": references[0]}
            if len(references) == 1
            else {"shells": args.shells, "references": references}
        ),
        "rows": rows,
    }
    args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
