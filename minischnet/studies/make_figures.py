"""Regenerate the thesis summary's figures from the shipped models and results.

    python -m minischnet.studies.make_figures --out data/results/figures

Fig. 2  abb2_filters.png           continuous vs discrete filters: C=O stretch of formamide
                                   (QM9 model)
Fig. 4  abb4_local_potential.png   H-probe potential around N-formylformamide (QM9 model), and
        abb4_local_potential_minus_H.png  the same with the hydrogen on nitrogen removed
        abb4_gfn2_insertion.png, abb4_gfn2_insertion_minus_H.png  their check by quantum chemistry:
                                   the GFN2-xTB energy of putting a hydrogen there (when tblite is
                                   installed)
        abb4_shells.png            Fig. 4 against GFN2-xTB over probe shells and nine models
                                   (from data/results/abb4_partition/shells.json)
Fig. 5  abb5_embeddings_qm9.png    element embeddings of the QM9 model;
                                   abb5_embeddings_materials.png of the crystal model (when
                                   data/models/materials_schnet.pt exists)
Fig. 6  abb6_learning_curve.png    from data/results/learning_curve/learning_curve.csv
        abb6_c20_distances.png     from data/results/c20_rpmd_long/ (1.25 ns) once finished, else
                                   c20_rpmd/

Every figure comes from a function in ``minischnet.figures`` that the tutorials call too. A figure
whose inputs are missing is skipped with a message, never drawn from made-up numbers.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..data import data_dir
from ..results import finished_rpmd_study, load_histograms


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("data/results/figures"))
    parser.add_argument(
        "--probe-distance", type=float, default=1.2, help="Å, radius of the probe shell (Fig. 4)"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import minischnet

    from .. import data
    from ..figures import (
        distance_figure,
        embedding_figure,
        filter_figure,
        learning_curve_figure,
        local_potential_figure,
    )
    from ..interpret import embedding_pca, local_potential, probe_surface

    root = data_dir()
    made = []
    qm9_model_path = root / "models" / "qm9_schnet.pt"
    if qm9_model_path.exists():
        model = minischnet.load(qm9_model_path)
        qm9 = data.qm9()
        formamide = qm9[int(np.flatnonzero(qm9.info["smiles"] == "NC=O")[0])]
        o = int(np.flatnonzero(formamide.numbers == 8)[0])
        c = int(np.argsort(formamide.get_distances(o, range(len(formamide))))[1])
        filter_figure(
            model, formamide, c, o, np.linspace(1.0, 1.6, 241), path=args.out / "abb2_filters.png"
        )
        mol, radical = data.n_formylformamide(qm9)
        for atoms, name in (
            (mol, "abb4_local_potential.png"),
            (radical, "abb4_local_potential_minus_H.png"),
        ):
            points = probe_surface(atoms, distance=args.probe_distance, points_per_atom=1000)
            local_potential_figure(
                atoms, points, local_potential(model, atoms, points), path=args.out / name
            )
        elements = ["H", "C", "N", "O", "F"]
        coords, explained = embedding_pca(model, elements)
        embedding_figure(coords, elements, explained, path=args.out / "abb5_embeddings_qm9.png")
        plt.close("all")  # saved; an open figure would only hold memory
        made += [
            "abb2_filters.png",
            "abb4_local_potential.png",
            "abb4_local_potential_minus_H.png",
            "abb5_embeddings_qm9.png",
        ]
        try:
            from tblite.ase import TBLite
        except ImportError:
            print(
                "skipped the GFN2-xTB check of Fig. 4: tblite is not installed (pip install tblite)"
            )
        else:
            from ..interpret import insertion_energy

            for atoms, name in (
                (mol, "abb4_gfn2_insertion.png"),
                (radical, "abb4_gfn2_insertion_minus_H.png"),
            ):
                points = probe_surface(atoms, distance=args.probe_distance, points_per_atom=300)
                xtb = TBLite(method="GFN2-xTB", verbosity=0, accuracy=1.0)  # the default
                energies = insertion_energy(xtb, atoms, points)
                local_potential_figure(
                    atoms,
                    points,
                    energies,
                    path=args.out / name,
                    label="GFN2-xTB: E(+H) - E - E(H) (eV)",
                )
                plt.close("all")  # saved; an open figure would only hold memory
                made.append(name)
    else:
        print(f"skipped Fig. 2, 4 and the QM9 part of Fig. 5: {qm9_model_path} is missing")
    materials_model_path = root / "models" / "materials_schnet.pt"
    if materials_model_path.exists():
        model = minischnet.load(materials_model_path)
        elements = model.info["elements"]
        coords, explained = embedding_pca(model, elements)
        embedding_figure(
            coords, elements, explained, path=args.out / "abb5_embeddings_materials.png"
        )
        plt.close("all")  # saved; an open figure would only hold memory
        made.append("abb5_embeddings_materials.png")
    else:
        print(f"skipped the materials part of Fig. 5: {materials_model_path} is missing")
    shells = root / "results" / "abb4_partition" / "shells.json"
    if shells.exists():
        import json

        from ..figures import shell_agreement_figure

        shell_agreement_figure(json.loads(shells.read_text()), path=args.out / "abb4_shells.png")
        plt.close("all")  # saved; an open figure would only hold memory
        made.append("abb4_shells.png")
    curve = root / "results" / "learning_curve" / "learning_curve.csv"
    if curve.exists():
        learning_curve_figure(curve, path=args.out / "abb6_learning_curve.png")
        plt.close("all")  # saved; an open figure would only hold memory
        made.append("abb6_learning_curve.png")
    rpmd = finished_rpmd_study(root / "results")
    if rpmd is not None:
        distance_figure(
            {f"P = {P}": load_histograms(rpmd, P) for P in (1, 8)},
            path=args.out / "abb6_c20_distances.png",
        )
        plt.close("all")  # saved; an open figure would only hold memory
        made.append(f"abb6_c20_distances.png (from {rpmd.name})")
    else:
        print(f"skipped Fig. 6 right: no finished P = 1 and P = 8 study in {root / 'results'}")
    print("wrote", ", ".join(made), "to", args.out)


if __name__ == "__main__":
    main()
