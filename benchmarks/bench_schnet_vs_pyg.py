"""minischnet.SchNet against torch_geometric.nn.models.SchNet, side by side in one process.

Identical hyperparameters (128 features, 6 interactions, 20 Gaussians, cutoff 5 Å), float32,
and the same pair list for both (PyG gets it through ``interaction_graph``, so it needs no
torch-cluster). The same network on both sides: minischnet with ``filter_activation=False`` is
PyG's architecture (no ssp after the filter network's second layer), and it is given PyG's
weights, so both compute the same energies, forces and loss (printed). The thesis's variant,
one ssp more per filter, is timed beside it. Two workloads:
  (a) one training step on energies and forces, loss (6), Adam, on 100 QM9 molecules;
  (b) energies and forces of 8 copies of C20 (one ring-polymer step), inference: with the
      exact filter networks, and with filters interpolated from tables (SchNet.tabulate_filters,
      spacing 0.01 Å, the setting for molecular dynamics).
Prints each median time and the ratio PyG / minischnet (> 1: minischnet is faster).
Both run in one process, so both get what ``minischnet.keep_freed_memory()`` sets process-wide
(glibc malloc keeps freed memory, see minischnet/_malloc.py); MINISCHNET_KEEP_MALLOC=1 runs both
without it.

    pip install -e ".[bench]"          # torch-geometric, qm9pack
    python benchmarks/bench_schnet_vs_pyg.py [--repeats 10]
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import platform
from pathlib import Path

import numpy as np
import torch
from ase import Atoms
from timing import median_time  # benchmarks/timing.py

import minischnet
from minischnet.data.c20 import c20_cage
from minischnet.train import energy_force_loss

minischnet.keep_freed_memory()  # as the CLI and the MD driver do (minischnet/_malloc.py)

F, T, K, CUTOFF = 128, 6, 20, 5.0


def qm9_molecules(n, seed=0):
    """n molecules with 9 heavy atoms from QM9 (qm9pack's CSV, read directly)."""
    spec = importlib.util.find_spec("qm9pack")
    if spec is None:
        raise SystemExit("needs qm9pack: pip install qm9pack")
    path = Path(spec.submodule_search_locations[0]) / "data" / "qm9_part3.csv"
    rows = []
    with open(path, newline="") as f:
        for k, row in enumerate(csv.DictReader(f)):
            rows.append(row)
            if k >= 20 * n:
                break
    picked = np.random.default_rng(seed).choice(len(rows), n, replace=False)
    out = []
    for k in picked:
        symbols = json.loads(rows[k]["Elements"].replace("'", '"'))
        atoms = Atoms(symbols, positions=json.loads(rows[k]["XYZ_Ang"]))
        out.append(atoms)
    return out


def pyg_model():
    """PyG SchNet that takes our pair list (set ``graph.edge_index``, ``graph.offsets``)."""
    from torch_geometric.nn.models import SchNet as PyGSchNet

    class FixedGraph(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.edge_index = None

        def forward(self, pos, batch):
            i, j = self.edge_index
            return self.edge_index, (pos[j] - pos[i] + self.offsets).norm(dim=-1)

    graph = FixedGraph()
    model = PyGSchNet(
        hidden_channels=F,
        num_filters=F,
        num_interactions=T,
        num_gaussians=K,
        cutoff=CUTOFF,
        interaction_graph=graph,
    )
    return model, graph


def with_pyg_weights(theirs) -> minischnet.SchNet:
    """minischnet's SchNet in PyG's architecture, holding PyG's weights: the same function."""
    ours = minischnet.SchNet(F, T, K, CUTOFF, max_z=99, filter_activation=False)
    state = {"embedding.weight": theirs.embedding.weight, "output1.weight": theirs.lin1.weight,
             "output1.bias": theirs.lin1.bias, "output2.weight": theirs.lin2.weight,
             "output2.bias": theirs.lin2.bias}  # fmt: skip
    for t, block in enumerate(theirs.interactions):
        for name, layer in (("filter1", block.mlp[0]), ("filter2", block.mlp[2]),
                            ("in2f", block.conv.lin1), ("f2out", block.conv.lin2),
                            ("dense", block.lin)):  # fmt: skip
            state[f"interactions.{t}.{name}.weight"] = layer.weight
            if layer.bias is not None:
                state[f"interactions.{t}.{name}.bias"] = layer.bias
    missing = ours.load_state_dict({k: v.detach().clone() for k, v in state.items()}, strict=False)
    assert not missing.unexpected_keys and all(
        k.split(".")[0] in ("rbf_centers", "rbf_gamma", "mean", "std", "atomref")
        for k in missing.missing_keys
    ), missing
    return ours


def full_edges(batch):
    """Both directions of every pair, as PyG wants: edge_index (2, 2P), offsets (2P, 3)."""
    i = torch.cat([batch.idx_i, batch.idx_j])
    j = torch.cat([batch.idx_j, batch.idx_i])
    return torch.stack([j, i]), torch.cat(
        [batch.offsets, -batch.offsets]
    ).float()  # PyG: edge j -> i


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    torch.manual_seed(0)

    theirs, graph = pyg_model()
    ours = with_pyg_weights(theirs)  # the same network and weights as PyG's
    thesis = minischnet.SchNet(F, T, K, CUTOFF)  # the thesis's: ssp after the filter, too
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{platform.processor() or platform.machine()}"
    )

    # (a) training step on 100 QM9 molecules
    molecules = qm9_molecules(100)
    rng = np.random.default_rng(0)
    for a in molecules:
        from ase.calculators.singlepoint import SinglePointCalculator

        a.calc = SinglePointCalculator(a, energy=rng.normal(), forces=rng.normal(size=(len(a), 3)))
    batch = minischnet.collate(molecules, CUTOFF).to(dtype=torch.float32)
    print(
        f"(a) {batch.n_structures} QM9 molecules, {len(batch.Z)} atoms, "
        f"{2 * len(batch.idx_i)} directed pairs"
    )

    opt_ours = torch.optim.Adam(ours.parameters(), 1e-4)
    opt_thesis = torch.optim.Adam(thesis.parameters(), 1e-4)

    def step_ours(model=ours, optimizer=opt_ours):
        optimizer.zero_grad()
        loss = energy_force_loss(model.train(), batch, rho=0.01)
        loss.backward()
        optimizer.step()
        return loss

    def step_thesis():
        return step_ours(thesis, opt_thesis)

    edge_index, offsets = full_edges(batch)
    opt_theirs = torch.optim.Adam(theirs.parameters(), 1e-4)

    def step_theirs():
        graph.edge_index, graph.offsets = edge_index, offsets
        opt_theirs.zero_grad()
        R = batch.R.clone().requires_grad_(True)
        E = theirs(batch.Z, R, batch.structure).squeeze(-1)
        (dE,) = torch.autograd.grad(E.sum(), R, create_graph=True)
        force_term = torch.zeros_like(E).index_add_(
            0, batch.structure, ((batch.forces + dE) ** 2).sum(1)
        )
        loss = (0.01 * (batch.energy - E) ** 2 + force_term / batch.n_atoms).mean()
        loss.backward()
        opt_theirs.step()
        return loss

    # the same loss at the same weights, before the timed steps move each copy its own way
    loss_ours, loss_theirs = step_ours().item(), step_theirs().item()
    print(f"(a) loss (6), first step: minischnet {loss_ours:.6f}, PyG {loss_theirs:.6f}")
    t_theirs_a = median_time(step_theirs, args.repeats)
    t_ours_a = median_time(step_ours, args.repeats)
    t_thesis_a = median_time(step_thesis, args.repeats)

    # (b) 8 beads of C20, energies and forces
    rng = np.random.default_rng(1)
    beads = []
    for _ in range(8):
        c20 = c20_cage()
        c20.positions += rng.normal(0, 0.05, c20.positions.shape)
        beads.append(c20)
    batch_b = minischnet.collate(beads, CUTOFF).to(dtype=torch.float32)
    print(f"(b) 8 x C20, {2 * len(batch_b.idx_i)} directed pairs")
    ours, thesis = with_pyg_weights(theirs).eval(), thesis.eval()  # PyG's weights again
    theirs.eval()
    edge_index_b, offsets_b = full_edges(batch_b)

    def forces_ours(model=ours):
        return model.energy_and_forces(batch_b)

    def forces_thesis():
        return forces_ours(thesis)

    def forces_theirs():
        graph.edge_index, graph.offsets = edge_index_b, offsets_b
        R = batch_b.R.clone().requires_grad_(True)
        E = theirs(batch_b.Z, R, batch_b.structure).squeeze(-1)
        (dE,) = torch.autograd.grad(E.sum(), R)
        return E.detach(), -dE

    (E_o, F_o), (E_t, F_t) = forces_ours(), forces_theirs()
    print(
        f"(b) the same function: |dE| {(E_o - E_t).abs().max().item():.1e} eV, "
        f"|dF| {(F_o - F_t).abs().max().item():.1e} eV/Å (float32)"
    )
    t_theirs_b = median_time(forces_theirs, 5 * args.repeats)
    t_ours_b = median_time(forces_ours, 5 * args.repeats)
    t_thesis_b = median_time(forces_thesis, 5 * args.repeats)
    E_exact, F_exact = forces_ours()
    table_error = ours.tabulate_filters(spacing=0.01)  # inference only: filters from Hermite tables
    t_tab_b = median_time(forces_ours, 5 * args.repeats)
    E_tab, F_tab = forces_ours()
    t_collate_b = median_time(lambda: minischnet.collate(beads, CUTOFF), 5 * args.repeats)

    print(f"{'workload':<42}{'PyG':>10}{'minischnet':>12}{'PyG/ours':>10}")
    print(
        f"{'(a) train step, 100 QM9 molecules':<42}{t_theirs_a:>9.3f}s{t_ours_a:>11.3f}s"
        f"{t_theirs_a / t_ours_a:>9.2f}x"
    )
    print(
        f"{'(a) the same, thesis variant (+1 ssp)':<42}{t_theirs_a:>9.3f}s{t_thesis_a:>11.3f}s"
        f"{t_theirs_a / t_thesis_a:>9.2f}x"
    )
    print(
        f"{'(b) E+F, 8 x C20':<42}{t_theirs_b * 1e3:>8.1f}ms{t_ours_b * 1e3:>10.1f}ms"
        f"{t_theirs_b / t_ours_b:>9.2f}x"
    )
    print(
        f"{'(b) the same, thesis variant (+1 ssp)':<42}{t_theirs_b * 1e3:>8.1f}ms"
        f"{t_thesis_b * 1e3:>10.1f}ms{t_theirs_b / t_thesis_b:>9.2f}x"
    )
    print(
        f"{'(b) E+F, 8 x C20, tabulated filters':<42}{t_theirs_b * 1e3:>8.1f}ms"
        f"{t_tab_b * 1e3:>10.1f}ms{t_theirs_b / t_tab_b:>9.2f}x"
    )
    print(
        f"(b) tabulated vs exact filters (float32): filter error {table_error:.1e} (relative), "
        f"|dE| {(E_tab - E_exact).abs().max().item():.1e} eV, "
        f"|dF| {(F_tab - F_exact).abs().max().item():.1e} eV/Å"
    )
    print(
        f"(b) pair list for 8 x C20 (collate, not in the times above): {t_collate_b * 1e3:.1f} ms"
    )


if __name__ == "__main__":
    main()
