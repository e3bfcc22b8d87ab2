"""Time and peak memory against the number of atoms: pair lists, and SchNet energy + forces.

Periodic diamond silicon (cubic cells repeated k x k x k, rattled by 0.05 Å), cutoff 5 Å, from 216
to 97,336 atoms. Every measurement runs in a process of its own, so that its peak memory
(VmHWM, reset before the call) is its own; "added" is the peak minus what the process held just
before the call.

    pair lists   minischnet (neighbors.neighbor_pairs: vesin's cell lists), the brute-force
                 definition (neighbors.brute_force_pairs, up to 4,096 atoms), ase.neighborlist,
                 matscipy, vesin called directly
    E+F          minischnet.SchNet and torch_geometric's SchNet, 64 features, 3 interactions,
                 20 Gaussians, float32, both handed the same pair list (built before the clock)

Also the pair lists of 1,000 small molecules (QM9-sized, 18 atoms each), the batches training
builds: cell lists must not make them slower than brute force.

Writes ``scaling.csv`` (method, atoms, seconds, peak and added memory in MB) into ``--out``,
row by row, and prints the exponent of time against atoms fitted from 10,000 atoms up.

With ``--device cuda`` the two models run on the GPU (the pair lists are still built on the
CPU, before the clock), their times are taken after ``torch.cuda.synchronize()``, and their
memory is the GPU's (``torch.cuda.max_memory_allocated``); sizes go on to a million atoms.

    pip install -e ".[bench]"          # torch-geometric, matscipy
    python benchmarks/bench_scaling.py [--max-atoms 100000] [--out data/results/scaling]
    python benchmarks/bench_scaling.py --device cuda --min-atoms 1000 --max-atoms 1000000 \
        --methods minischnet vesin "minischnet E+F" "PyG E+F" --out data/results/scaling/cuda
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

CUTOFF = 5.0
REPEATS = [2, 3, 4, 5, 6, 8, 11, 14, 17, 20, 23, 29, 37, 46, 50]  # 8 k^3 atoms: 64 to 1,000,000
LIMITS = {"brute force": 4096}  # O(n^2): beyond this it takes minutes
PAIR_METHODS = ["minischnet", "brute force", "ase.neighborlist", "matscipy", "vesin"]
MODEL_METHODS = ["minischnet E+F", "PyG E+F"]


def silicon(k: int):
    from ase.build import bulk

    atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat((k, k, k))
    atoms.rattle(0.05, seed=k)
    return atoms


def memory_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (the peak since the last reset) of this process, in MB (Linux)."""
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith(field + ":"))
    return int(line.split()[1]) / 1024


def reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current RSS


def pair_function(method: str):
    if method == "minischnet":
        from minischnet.neighbors import neighbor_pairs

        return lambda a: neighbor_pairs(a.positions, CUTOFF, a.cell.array, a.pbc)
    if method == "brute force":
        from minischnet.neighbors import brute_force_pairs

        return lambda a: brute_force_pairs(a.positions, CUTOFF, a.cell.array, a.pbc)
    if method == "ase.neighborlist":
        from ase.neighborlist import neighbor_list

        return lambda a: neighbor_list("ijS", a, CUTOFF)
    if method == "matscipy":
        from matscipy.neighbours import neighbour_list

        return lambda a: neighbour_list("ijS", a, CUTOFF)
    if method == "vesin":
        from vesin import NeighborList

        return lambda a: NeighborList(cutoff=CUTOFF, full_list=True).compute(
            a.positions, a.cell.array, a.pbc, quantities="ijS"
        )
    raise ValueError(method)


def model_call(method: str, atoms, device: str = "cpu"):
    """A function that computes energy and forces of ``atoms``, the pair list built already."""
    import torch

    import minischnet

    minischnet.keep_freed_memory()
    torch.manual_seed(0)
    batch = minischnet.collate([atoms], CUTOFF).to(device, torch.float32)
    if method == "minischnet E+F":
        model = minischnet.SchNet(64, 3, 20, CUTOFF, max_z=14).eval().to(device)
        return lambda: model.energy_and_forces(batch)
    from torch_geometric.nn.models import SchNet as PyGSchNet

    i = torch.cat([batch.idx_i, batch.idx_j])
    j = torch.cat([batch.idx_j, batch.idx_i])
    edge_index = torch.stack([j, i])  # PyG: the message goes from edge_index[0] to [1]
    offsets = torch.cat([batch.offsets, -batch.offsets])

    class GivenPairs(torch.nn.Module):
        def forward(self, pos, _batch):
            return edge_index, (pos[i] - pos[j] + offsets).norm(dim=-1)

    model = PyGSchNet(64, 64, 3, 20, CUTOFF, interaction_graph=GivenPairs()).eval().to(device)

    def energy_and_forces():
        R = batch.R.clone().requires_grad_(True)
        E = model(batch.Z, R, batch.structure).sum()
        (dE,) = torch.autograd.grad(E, R)
        return E.detach(), -dE

    return energy_and_forces


def measure_one(method: str, k: int, device: str = "cpu") -> dict:
    """Runs in the child process: time and memory of one method at one size."""
    atoms = silicon(k)
    n = len(atoms)
    gpu = device != "cpu" and method in MODEL_METHODS
    if method in MODEL_METHODS:
        model_energy_and_forces = model_call(method, atoms, device)

        def call():
            out = model_energy_and_forces()
            if gpu:
                import torch

                torch.cuda.synchronize()  # the GPU runs asynchronously: wait for the result
            return out
    else:
        pairs = pair_function(method)

        def call():
            return pairs(atoms)

    # a warm-up call first: lazy imports, and the first touch of every page of memory (at
    # 100,000 atoms that first call takes several times longer than the ones after it; an MD
    # run or a training loop pays it once)
    started = time.perf_counter()
    call()
    first_call = time.perf_counter() - started
    repeats = 3 if n < 20_000 else 2
    if gpu:
        import torch

        repeats = 5
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated() / 2**20
    else:
        reset_peak()
        before = memory_mb("VmRSS")
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated() / 2**20 if gpu else memory_mb("VmHWM")
    return {
        "method": method,
        "atoms": n,
        "seconds": float(np.median(times)),
        "first_call_seconds": first_call,
        "peak_MB": round(peak, 1),
        "added_MB": round(peak - before, 1),
        "device": device if gpu else "cpu",
    }


def run_child(method: str, k: int, device: str = "cpu") -> dict | None:
    done = subprocess.run(
        [sys.executable, __file__, "--one", method, str(k), "--device", device],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1:] or ["no message"]
        print(f"  {method} at {8 * k**3:,} atoms failed: {last[0][:200]}", flush=True)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def small_molecules(n_molecules: int = 1000) -> tuple[float, float]:
    """Seconds for the pair lists of ``n_molecules`` 18-atom molecules: cell lists, brute force."""
    from minischnet.neighbors import brute_force_pairs, neighbor_pairs

    rng = np.random.default_rng(0)
    molecules = [rng.uniform(0, 4.5, (18, 3)) for _ in range(n_molecules)]
    out = []
    for pairs in (neighbor_pairs, brute_force_pairs):
        pairs(molecules[0], CUTOFF)  # warm-up
        start = time.perf_counter()
        for R in molecules:
            pairs(R, CUTOFF)
        out.append(time.perf_counter() - start)
    return out[0], out[1]


def exponent(rows: list[dict], method: str, from_atoms: int = 10_000) -> float | None:
    points = [(r["atoms"], r["seconds"]) for r in rows if r["method"] == method]
    points = [(n, t) for n, t in points if n >= from_atoms]
    if len(points) < 2:
        return None
    n, t = np.array(points).T
    return float(np.polyfit(np.log(n), np.log(t), 1)[0])


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--one", nargs=2, metavar=("METHOD", "K"), help=argparse.SUPPRESS)
    parser.add_argument("--min-atoms", type=int, default=0)
    parser.add_argument("--max-atoms", type=int, default=100_000)
    parser.add_argument("--methods", nargs="*", default=PAIR_METHODS + MODEL_METHODS)
    parser.add_argument("--out", type=Path, default=Path("data/results/scaling"))
    parser.add_argument("--device", default="cpu", help="where the models run: cpu or cuda")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(args.one[0], int(args.one[1]), args.device)))
        return

    from minischnet.results import write_csv

    machine = f"{platform.machine()}, {os.cpu_count()} cores"
    if args.device != "cpu":
        import torch

        machine += ", " + torch.cuda.get_device_name()
    print(f"periodic silicon, cutoff {CUTOFF} Å, on {machine}")
    cells, brute = small_molecules()
    print(
        f"pair lists of 1,000 molecules of 18 atoms: cell lists {cells:.3f} s, "
        f"brute force {brute:.3f} s"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    rows, failed = [], []
    for k in REPEATS:
        n = 8 * k**3
        if n > args.max_atoms:
            break
        if n < args.min_atoms:
            continue
        for method in args.methods:
            if n > LIMITS.get(method, np.inf):
                continue
            row = run_child(method, k, args.device)
            if row is None:
                failed.append(f"{method} at {n} atoms")
            else:
                row["machine"] = machine
                rows.append(row)
                write_csv(args.out / "scaling.csv", list(rows[0]), rows)  # kept if cut short
                print(
                    f"{method:>18} {n:>7,} atoms {row['seconds']:>9.4f} s "
                    f"peak {row['peak_MB']:>8,.0f} MB (added {row['added_MB']:>7,.0f} MB)",
                    flush=True,
                )
    summary = {
        "command": "python benchmarks/bench_scaling.py " + " ".join(sys.argv[1:]),
        "machine": machine,
        "small_molecules_seconds": {"cell lists": cells, "brute force": brute},
        "exponent_from_10000_atoms": {m: exponent(rows, m) for m in args.methods},
        "failed": failed,
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    for method, s in summary["exponent_from_10000_atoms"].items():
        if s is not None:
            print(f"time ~ atoms^{s:.2f} from 10,000 atoms up: {method}")


if __name__ == "__main__":
    main()
