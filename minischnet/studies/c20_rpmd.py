r"""The C20 study of Fig. 6 (right): RPMD at 300 K with P = 1 and P = 8 beads, SchNet forces.

    python -m minischnet.studies.c20_rpmd --model data/models/c20_schnet.pt \
        --out data/results/c20_rpmd
    python -m minischnet.studies.c20_rpmd ... --steps 2500000  # the paper's 1.25 ns at 0.5 fs

Runs in chunks (``--chunk-steps``) and saves its state after each (positions, momenta, random
generator, accumulated histograms and observables): run the same command again to continue.
Writes per P: ``P{P}.npz`` (C-C distance histograms of beads and centroids, K_cv, <V>, R_g
series) and ``summary.json`` (steps done, simulated time, wall time, averages with block errors),
plus ``distances.png``. The SchNet filters are tabulated (minischnet.nn.tabulate) for speed.

The model's check inside the dynamics runs the same study with the reference method itself::

    python -m minischnet.studies.c20_rpmd --gfn2 --beads 8 --steps 10000 \
        --out data/results/c20_rpmd_gfn2

(GFN2-xTB through tblite, the method that labelled the training data; about 0.25 s per 8-bead
step on one core) and the SchNet run to compare is the same command with ``--model`` in place
of ``--gfn2``: same start, same seeds, same length.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from .._atomic import atomic_write
from ..md import RingPolymerMD, block_error, bond_statistics, bonds, pair_distances
from ..nn.registry import weights_hash
from ..results import DISTANCE_BINS as BINS
from ..results import densities

SERIES = ("kinetic_cv", "potential", "radius_of_gyration", "bond_mean", "bond_std")


def same_potential(a: str, b: str) -> bool:
    """Whether two potential ids name the same forces: for models, the same weights (a copy of the
    file under another name is the same potential); otherwise the same method."""
    key = " weights sha256:"
    if key in a and key in b:
        return a.split(key)[1] == b.split(key)[1]
    return a == b


def simulate(calc, atoms, P, args, out: Path, potential_id: str = "") -> dict:
    """Run (or resume) the P-bead trajectory in ``out``; ``potential_id`` names the potential, and a
    saved state made with another one is refused rather than continued with different forces."""
    path = out / f"P{P}.npz"
    md = RingPolymerMD(
        atoms,
        calc,
        P,
        args.temperature,
        args.timestep,
        tau_fs=args.tau,
        seed=args.seed + P,
        max_step_A=1.0,  # C20's beads move at most 0.034 Å per 0.5 fs step
    )
    i, j = bonds(atoms)
    acc = {
        "beads": np.zeros(len(BINS) - 1),
        "centroids": np.zeros(len(BINS) - 1),
        "wall_seconds": 0.0,
        **{k: np.zeros(0) for k in SERIES},
    }
    if path.exists():
        saved = np.load(path)  # plain arrays only: loading never unpickles
        if "potential_id" in saved and not same_potential(str(saved["potential_id"]), potential_id):
            raise ValueError(
                f"{path} was made with another potential ({saved['potential_id']}), "
                f"not {potential_id}: "
                "continuing it would mix two force fields; use a new --out or delete the file"
            )
        if "state_q" not in saved:
            raise ValueError(
                f"{path} was written by an older version (its state is pickled, which is never "
                "loaded): start it again"
            )
        md.load_state({k[len("state_") :]: saved[k] for k in saved if k.startswith("state_")})
        acc = {k: saved[k] if k in saved else v for k, v in acc.items()}
        acc["wall_seconds"] = float(acc["wall_seconds"])
        if any(len(acc[k]) != len(acc["kinetic_cv"]) for k in SERIES):
            raise ValueError(
                f"{path} was written by an older version without all of {SERIES}: start it again"
            )
    while md.step_count < args.steps:
        n = min(args.chunk_steps, args.steps - md.step_count)
        t0 = time.time()
        run = md.run(n, record_every=args.record_every, quiet=args.quiet)
        if md.step_count > args.equilibrate:  # histograms from equilibrated frames only
            keep = run["time_fs"] > args.equilibrate * args.timestep
            q = run["positions"][keep]
            acc["beads"] += np.histogram(pair_distances(q).ravel(), BINS)[0]
            acc["centroids"] += np.histogram(pair_distances(q.mean(axis=1)).ravel(), BINS)[0]
            run["bond_mean"], run["bond_std"] = bond_statistics(run["positions"], i, j)
            for k in SERIES:
                acc[k] = np.concatenate([acc[k], run[k][keep]])
        acc["wall_seconds"] += time.time() - t0
        # compressed: the 10-step time series of a 1.25 ns run are 10 MB per P raw, about 4 MB
        # packed
        with atomic_write(path) as f:
            np.savez_compressed(
                f,
                **{f"state_{k}": v for k, v in md.state().items()},
                potential_id=potential_id,
                **acc,
            )
        print(
            f"P={P}: {md.step_count}/{args.steps} steps, {acc['wall_seconds'] / 3600:.2f} h",
            flush=True,
        )
    return {
        "steps": md.step_count,
        "simulated_ps": md.step_count * args.timestep / 1000,
        "wall_hours": acc["wall_seconds"] / 3600,
        "kinetic_cv_eV": [float(acc["kinetic_cv"].mean()), block_error(acc["kinetic_cv"])],
        "potential_eV": [float(acc["potential"].mean()), block_error(acc["potential"])],
        "radius_of_gyration_A": [
            float(acc["radius_of_gyration"].mean()),
            block_error(acc["radius_of_gyration"]),
        ],
        "bond_length_mean_A": [float(acc["bond_mean"].mean()), block_error(acc["bond_mean"])],
        "bond_length_spread_A": [float(acc["bond_std"].mean()), block_error(acc["bond_std"])],
        "histograms": densities(acc),
    }


def main(argv=None):
    import minischnet

    from ..data import c20_minimum

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=Path("data/models/c20_schnet.pt"))
    parser.add_argument(
        "--gfn2", action="store_true", help="GFN2-xTB (tblite) forces instead of the model"
    )
    parser.add_argument("--out", type=Path, default=Path("data/results/c20_rpmd"))
    parser.add_argument("--beads", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--temperature", type=float, default=300.0)
    parser.add_argument("--timestep", type=float, default=0.5, help="fs")
    parser.add_argument(
        "--tau", type=float, default=100.0, help="centroid thermostat time constant, fs"
    )
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--equilibrate", type=int, default=2000)
    parser.add_argument("--chunk-steps", type=int, default=10_000)
    parser.add_argument("--record-every", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    if args.gfn2:
        from tblite.ase import TBLite

        # SCF accuracy 1.0 (tblite's default), as the shipped results/c20_rpmd_gfn2 was made;
        # the thermostat absorbs the small energy drift it gives (data/c20/accuracy.json)
        calc = TBLite(method="GFN2-xTB", verbosity=0, accuracy=1.0)
        potential = "GFN2-xTB (tblite)"
        potential_id, model_info = potential, None
    else:
        model = minischnet.load(args.model)
        model.tabulate_filters()
        calc, potential = (
            minischnet.Calculator(model, skin=0.5),
            str(args.model),
        )  # Verlet list: rebuilt rarely
        potential_id = f"{args.model.name} weights sha256:{weights_hash(model)}"
        model_info = {k: model.info.get(k) for k in ("epochs", "test_energy_mae", "test_force_mae")}
    atoms = c20_minimum()
    summary = {
        "command": "python -m minischnet.studies.c20_rpmd "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "potential": potential,
        "potential_id": potential_id,
        "model_info": model_info,
        "machine": platform.platform(),
        "temperature_K": args.temperature,
        "timestep_fs": args.timestep,
    }
    results = {}
    for P in args.beads:
        results[f"P = {P}"] = simulate(calc, atoms, P, args, args.out, potential_id)
        summary[f"P{P}"] = {k: v for k, v in results[f"P = {P}"].items() if k != "histograms"}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))

    import matplotlib

    matplotlib.use("Agg")
    from ..figures import distance_figure

    distance_figure({k: v["histograms"] for k, v in results.items()}, args.out / "distances.png")


if __name__ == "__main__":
    main()
