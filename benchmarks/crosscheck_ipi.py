"""Cross-check minischnet's RPMD against i-PI: same potential, same P, same temperature.

i-PI (PyPI ``ipi``) runs as a server and asks an ASE client, over a UNIX socket, for the forces
of each bead; minischnet.md.RingPolymerMD runs the same ring polymer in-process. Both use PILE-L
(τ = 100 fs) at 300 K, P = 8, 0.5 fs. The averages of the centroid-virial kinetic energy, the
potential energy and the radius of gyration must agree within their statistical errors
(block averages).

    python benchmarks/crosscheck_ipi.py [--model data/models/c20_schnet.pt] [--steps 4000]
        [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from ase.calculators.socketio import SocketClient

import minischnet
from minischnet.data import c20_minimum
from minischnet.md import RingPolymerMD

minischnet.keep_freed_memory()  # as the CLI and the MD driver do (minischnet/_malloc.py)

INPUT = """<simulation verbosity='low'>
  <output prefix='ipi'>
    <properties stride='1' filename='out'> [ step, conserved{{electronvolt}}, kinetic_cv{{electronvolt}},
      potential{{electronvolt}}, r_gyration{{angstrom}} ] </properties>
  </output>
  <total_steps>{steps}</total_steps>
  <prng><seed>{seed}</seed></prng>
  <ffsocket name='minischnet' mode='unix'><address>{socket}</address><latency>1e-4</latency></ffsocket>
  <system>
    <initialize nbeads='{nbeads}'>
      <file mode='xyz'>init.xyz</file>
      <velocities mode='thermal' units='kelvin'>{temperature}</velocities>
    </initialize>
    <forces><force forcefield='minischnet'/></forces>
    <ensemble><temperature units='kelvin'>{temperature}</temperature></ensemble>
    <motion mode='dynamics'>
      <fixcom>False</fixcom>
      <dynamics mode='nvt'>
        <timestep units='femtosecond'>{timestep}</timestep>
        <thermostat mode='pile_l'><tau units='femtosecond'>{tau}</tau></thermostat>
      </dynamics>
    </motion>
  </system>
</simulation>
"""  # noqa: E501 (i-PI input, written byte for byte as it stands)


def block_mean(x, blocks=10):
    """Mean and its standard error from block averages (for correlated samples)."""
    b = np.array_split(np.asarray(x), blocks)
    means = np.array([v.mean() for v in b])
    return means.mean(), means.std(ddof=1) / np.sqrt(blocks)


def run_ipi(atoms, calc, args, workdir: Path):
    socket = f"minischnet_{os.getpid()}"
    box = 30.0
    with open(workdir / "init.xyz", "w") as f:
        f.write(
            f"{len(atoms)}\n# CELL(abcABC): {box} {box} {box} 90 90 90 "
            f"positions{{angstrom}} cell{{angstrom}}\n"
        )
        for s, p in zip(atoms.get_chemical_symbols(), atoms.positions):
            f.write(f"{s} {p[0]:.10f} {p[1]:.10f} {p[2]:.10f}\n")
    (workdir / "input.xml").write_text(
        INPUT.format(
            steps=args.steps,
            seed=args.seed,
            socket=socket,
            nbeads=args.nbeads,
            temperature=args.temperature,
            timestep=args.timestep,
            tau=args.tau,
        )
    )
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("i-pi")), "input.xml"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    for _ in range(300):
        if Path(f"/tmp/ipi_{socket}").exists():
            break
        time.sleep(0.1)
    client_atoms = atoms.copy()
    client_atoms.calc = calc
    SocketClient(unixsocket=socket).run(client_atoms)
    server.wait(timeout=60)
    data = np.loadtxt(workdir / "ipi.out")
    return {
        "kinetic_cv": data[:, 2],
        "potential": data[:, 3],
        "radius_of_gyration": data[:, 4],
        "conserved": data[:, 1],
    }


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=Path("data/models/c20_schnet.pt"))
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--equilibrate", type=int, default=500)
    parser.add_argument("--nbeads", type=int, default=8)
    parser.add_argument("--temperature", type=float, default=300.0)
    parser.add_argument("--timestep", type=float, default=0.5)
    parser.add_argument("--tau", type=float, default=100.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out",
        type=Path,
        help="also write the numbers, the command and the machine to this JSON file",
    )
    args = parser.parse_args()

    model = minischnet.load(args.model)
    model.tabulate_filters()
    calc = minischnet.Calculator(model, skin=0.5)
    atoms = c20_minimum()
    with tempfile.TemporaryDirectory() as tmp:
        t = time.time()
        ipi = run_ipi(atoms, calc, args, Path(tmp))
        t_ipi = time.time() - t
    t = time.time()
    ours = RingPolymerMD(
        atoms, calc, args.nbeads, args.temperature, args.timestep, tau_fs=args.tau, seed=args.seed
    ).run(args.steps)
    t_ours = time.time() - t
    skip = args.equilibrate
    print(
        f"P = {args.nbeads}, {args.temperature} K, {args.steps} steps of {args.timestep} fs "
        f"(first {skip} discarded); i-PI {t_ipi:.0f} s, minischnet {t_ours:.0f} s"
    )
    print(f"{'observable':<26}{'i-PI':>22}{'minischnet':>22}{'difference / error':>22}")
    rows = {}
    for key, unit in (("kinetic_cv", "eV"), ("potential", "eV"), ("radius_of_gyration", "Å")):
        a, da = block_mean(ipi[key][skip:])
        b, db = block_mean(ours[key][skip:])
        sigmas = abs(a - b) / np.hypot(da, db)
        rows[key] = dict(
            unit=unit,
            ipi=a,
            ipi_error=da,
            minischnet=b,
            minischnet_error=db,
            difference_in_sigma=sigmas,
        )
        print(
            f"{key + ' (' + unit + ')':<26}{a:>14.5f} ± {da:<6.5f}"
            f"{b:>14.5f} ± {db:<6.5f}{sigmas:>18.1f} σ"
        )
    if args.out:
        from importlib.metadata import version

        args.out.write_text(
            json.dumps(
                dict(
                    observables=rows,
                    nbeads=args.nbeads,
                    temperature_K=args.temperature,
                    timestep_fs=args.timestep,
                    tau_fs=args.tau,
                    steps=args.steps,
                    discarded=skip,
                    seed=args.seed,
                    model=str(args.model),
                    model_info={
                        k: model.info.get(k)
                        for k in ("epochs", "test_energy_mae", "test_force_mae")
                    },
                    seconds_ipi=t_ipi,
                    seconds_minischnet=t_ours,
                    ipi_version=version("ipi"),
                    command="python benchmarks/crosscheck_ipi.py " + " ".join(sys.argv[1:]),
                    machine=f"{platform.machine()}, {os.cpu_count()} cores",
                    threads=int(os.environ.get("OMP_NUM_THREADS", 0)) or None,
                ),
                indent=1,
                default=float,
            )
        )


if __name__ == "__main__":
    main()
