"""How much faster than quantum chemistry: one C20 force call, and RPMD steps at P = 8.

Side by side in one process: SchNet (1 bead, and 8 beads in one batch; exact and tabulated
filters) against GFN2-xTB (tblite) and, with --pyscf, DFT (PySCF PBE/def2-SVP, about two minutes
per call on 2 cores). Prints median times, speed-up factors per force call, RPMD steps per
second at P = 8 and the hours a 1.25 ns trajectory at 0.5 fs (2.5 million steps) would take.

    python benchmarks/bench_c20_speed.py [--model data/models/c20_schnet.pt] [--pyscf]
        [--json out.json]

``--json`` also writes the numbers (seconds per call, speed-ups, RPMD steps per second, machine)
for tutorial 7, which shows them (data/results/c20_speed.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch
from timing import median_time  # benchmarks/timing.py

import minischnet
from minischnet.data import c20_minimum
from minischnet.md import RingPolymerMD

minischnet.keep_freed_memory()  # as the CLI and the MD driver do (minischnet/_malloc.py)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=Path("data/models/c20_schnet.pt"))
    parser.add_argument("--pyscf", action="store_true", help="also time PySCF PBE/def2-SVP (slow)")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--rpmd-steps", type=int, default=200)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()

    if args.model.exists():
        model = minischnet.load(args.model)
        what = f"{args.model}"
    else:  # timing depends on the architecture only
        torch.manual_seed(0)
        model = minischnet.SchNet(64, 3, 25, 5.0).eval()
        what = "untrained SchNet(64 features, 3 interactions) -- the shipped model's architecture"
    print(f"model: {what}; torch {torch.__version__}, {torch.get_num_threads()} threads")
    atoms = c20_minimum()
    rng = np.random.default_rng(0)
    beads = []
    for _ in range(8):
        b = atoms.copy()
        b.positions += rng.normal(0, 0.05, b.positions.shape)
        beads.append(b)

    calc = minischnet.Calculator(model)
    rows = {}
    rows["SchNet, 1 bead"] = median_time(lambda: calc.calculate_batch(beads[:1]), args.repeats)
    rows["SchNet, 8 beads in one batch"] = median_time(
        lambda: calc.calculate_batch(beads), args.repeats
    )
    model.tabulate_filters()
    rows["SchNet tabulated, 1 bead"] = median_time(
        lambda: calc.calculate_batch(beads[:1]), args.repeats
    )
    rows["SchNet tabulated, 8 beads in one batch"] = median_time(
        lambda: calc.calculate_batch(beads), args.repeats
    )

    from tblite.ase import TBLite

    xtb = TBLite(method="GFN2-xTB", verbosity=0, accuracy=1.0)  # tblite's default, as labelled

    def tblite_call():
        xtb.reset()  # no cached results: a real SCF every call
        a = beads[0].copy()
        a.calc = xtb
        a.get_forces()

    rows["GFN2-xTB (tblite), 1 bead"] = median_time(tblite_call, 5)
    if args.pyscf:
        from pyscf import dft, gto

        def pyscf_call():
            mol = gto.M(
                atom=[("C", p) for p in beads[0].positions],
                basis="def2-svp",
                unit="Angstrom",
                verbose=0,
            )
            mf = dft.RKS(mol)
            mf.xc = "pbe"
            mf.kernel()
            mf.nuc_grad_method().kernel()

        t = time.perf_counter()
        pyscf_call()
        rows["PBE/def2-SVP (PySCF), 1 bead"] = time.perf_counter() - t

    per_bead = rows["SchNet tabulated, 8 beads in one batch"] / 8
    print(
        f"\n{'force call on C20':<42}{'time':>12}"
        f"{'speed-up of SchNet (8-bead batch, per bead)':>46}"
    )
    for name, t in rows.items():
        speedup = f"{t / per_bead:,.0f}x" if not name.startswith("SchNet") else ""
        print(f"{name:<42}{t * 1e3:>10.2f}ms{speedup:>46}")

    # dynamics as the C20 study runs it: tabulated filters and a Verlet pair list (skin 0.5 Å)
    md = RingPolymerMD(
        atoms,
        minischnet.Calculator(model, skin=0.5),
        nbeads=8,
        temperature_K=300.0,
        timestep_fs=0.5,
        seed=0,
    )
    t = time.perf_counter()
    md.run(args.rpmd_steps, quiet=True)
    per_step = (time.perf_counter() - t) / args.rpmd_steps
    print(
        f"\nRPMD P=8 with tabulated SchNet: {1 / per_step:.1f} steps/s; "
        f"1.25 ns at 0.5 fs (2.5e6 steps): "
        f"{2.5e6 * per_step / 3600:.1f} h on this machine (the paper: about 7 h)"
    )
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "command": "python benchmarks/bench_c20_speed.py " + " ".join(os.sys.argv[1:]),
                    "model": what,
                    "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                    "torch_threads": torch.get_num_threads(),
                    "seconds_per_call": rows,
                    "schnet_seconds_per_bead": per_bead,
                    "speedup_per_bead": {
                        k: v / per_bead for k, v in rows.items() if not k.startswith("SchNet")
                    },
                    "rpmd_p8_steps_per_second": 1 / per_step,
                    "hours_for_1_25_ns": 2.5e6 * per_step / 3600,
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
