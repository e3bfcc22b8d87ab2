"""The figures of the thesis summary, made from results: tutorials call these, scripts save them.

    filter_figure            Fig. 2   energy along a stretched bond, continuous vs discrete filters
    local_potential_figure   Fig. 4   local chemical potential on a shell around a molecule
    local_potential_view     Fig. 4   the same in 3D (py3Dmol), colored by potential
    embedding_figure         Fig. 5   first two principal components of element embeddings
    learning_curve_figure    Fig. 6   (left) test MAE against training set size
    distance_figure          Fig. 6   (right) C-C distance distributions, classical vs P = 8
    history_figure                    one training run: validation MAE and learning rate per epoch
    refinement_figure        Fig. 1   iterative refinement (1), drawn for a small molecule
    schnet_figure            Fig. 3   the SchNet architecture and one interaction block
    ring_polymer_figure               P beads per atom joined by springs (chapter 7)
    scaling_figure                    time and memory against the number of atoms (linear scaling)
    shell_agreement_figure            Fig. 4 against GFN2-xTB over probe shells and models

Every function returns the matplotlib Figure (or py3Dmol view); ``path=`` also saves it.
"""

from __future__ import annotations

import base64
import functools
from importlib import resources

import numpy as np
from ase.data import atomic_numbers, chemical_symbols

from .interpret import bond_scan, discretized, group
from .results import read_rows


def _finish(fig, path, rect=(0, 0, 1, 1)):
    fig.tight_layout(rect=rect)  # rect: the part of the figure the axes may fill
    if path is not None:
        fig.savefig(path, dpi=200)
    return fig


def _plt():
    import matplotlib.pyplot as plt

    return plt


def filter_figure(model, atoms, i, j, distances, bin_width=0.1, path=None):
    """Fig. 2: E along the i-j bond with the model's continuous filter and with a binned one."""
    plt = _plt()
    continuous = bond_scan(model, atoms, i, j, distances)
    discrete = bond_scan(discretized(model, bin_width), atoms, i, j, distances)
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(distances, continuous, label="continuous filter W(d)")
    ax.plot(
        distances, discrete, label=f"discrete filter ({bin_width} Å bins)", drawstyle="steps-mid"
    )
    ax.set_xlabel(f"distance {atoms[i].symbol}{i}-{atoms[j].symbol}{j} (Å)")
    ax.set_ylabel("predicted energy (eV)")
    ax.legend(fontsize=8)
    return _finish(fig, path)


def color_range(values, clip=(2, 98)) -> tuple[float, float]:
    """The (low, high) ends of a color scale for ``values``: their ``clip`` percentiles.

    A probe shell has a few points pressed against an atom whose potential lies far above the
    rest; scaled from min to max, those few take the whole color range and the surface looks one
    color. Saturating the outer 2 % on each side shows the structure (``clip=None``: min to max).
    """
    values = np.asarray(values, dtype=np.float64)
    if clip is None:
        return float(values.min()), float(values.max())
    low, high = np.percentile(values, clip)
    return float(low), float(high)


def local_potential_figure(
    atoms,
    points,
    potential,
    path=None,
    cmap="coolwarm_r",
    label="local potential (eV)",
    clip=(2, 98),
):
    """Fig. 4: the probe energy on the surface points (3D scatter), atoms drawn in CPK colors.

    Also for any other energy on the same points, e.g. ``interpret.insertion_energy``: name it in
    ``label``. Colors run over the ``clip`` percentiles of ``potential`` (``color_range``); beyond
    them they saturate.
    """
    plt = _plt()
    from ase.data.colors import jmol_colors

    vmin, vmax = color_range(potential, clip)
    fig = plt.figure(figsize=(5, 4.2))
    ax = fig.add_subplot(projection="3d")
    sc = ax.scatter(*points.T, c=potential, cmap=cmap, s=6, alpha=0.6, vmin=vmin, vmax=vmax)
    ax.scatter(
        *atoms.positions.T,
        c=[jmol_colors[z] for z in atoms.numbers],
        s=250,
        edgecolors="k",
        depthshade=False,
    )
    fig.colorbar(sc, ax=ax, shrink=0.7, label=label, extend="neither" if clip is None else "both")
    ax.set_axis_off()
    ax.set_box_aspect(np.ptp(points, axis=0))
    return _finish(fig, path)


@functools.lru_cache(maxsize=1)
def offline_3dmol() -> str:
    """3Dmol.js (v2.5.5, BSD-3, shipped in minischnet/_static) as a data: URL.

    py3Dmol loads 3Dmol.js from a CDN by default, so an offline reader sees no molecule. A data
    URL works the same in JupyterLab, in the built book and in a saved notebook, with no server.
    """
    js = resources.files("minischnet").joinpath("_static/3Dmol-min.js").read_bytes()
    return "data:text/javascript;base64," + base64.b64encode(js).decode()


def view3d(atoms, js=None, width=500, height=400):
    """A py3Dmol view of ``atoms`` (sticks and balls) that works offline (``js`` overrides the
    script URL)."""
    from io import StringIO

    try:
        import py3Dmol
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "view3d draws molecules with py3Dmol, which is not installed: pip install py3Dmol "
            '(it comes with pip install "minischnet[tutorials]")'
        ) from None
    from ase.io import write

    class View(py3Dmol.view):
        # One HTML output only (py3Dmol also sends it under its own mime type, which doubles the
        # notebook and which the book's renderer does not know).
        def _repr_mimebundle_(self, include=None, exclude=None):
            return {"text/html": self._make_html()}

    buffer = StringIO()
    write(buffer, atoms, format="xyz")
    view = View(width=width, height=height, js=js or offline_3dmol())
    view.addModel(buffer.getvalue(), "xyz")
    view.setStyle({"stick": {"radius": 0.15}, "sphere": {"scale": 0.25}})
    view.zoomTo()
    return view


def local_potential_view(atoms, points, potential, js=None, width=500, height=400, clip=(2, 98)):
    """Fig. 4 in 3D: the molecule as sticks, the surface as small spheres colored by potential
    (py3Dmol), over the same color range as ``local_potential_figure``."""
    import matplotlib

    view = view3d(atoms, js, width, height)
    norm = matplotlib.colors.Normalize(*color_range(potential, clip), clip=True)
    cmap = matplotlib.colormaps["coolwarm_r"]
    for p, v in zip(points, potential):
        view.addSphere(
            {
                "center": dict(zip("xyz", map(float, p))),
                "radius": 0.12,
                "color": matplotlib.colors.to_hex(cmap(norm(v))),
            }
        )
    view.zoomTo()
    return view


# Main group (IUPAC 1-18) of every element up to Bi: colours for Fig. 5.
def embedding_figure(coords, elements, explained=None, path=None):
    """Fig. 5: element embeddings in their first two principal components, colored by group."""
    plt = _plt()
    Z = [atomic_numbers[e] if isinstance(e, str) else int(e) for e in elements]
    groups = np.array([group(z) for z in Z])
    fig, ax = plt.subplots(figsize=(6, 5))
    sc = ax.scatter(coords[:, 0], coords[:, 1], c=groups, cmap="tab20", vmin=0.5, vmax=18.5, s=60)
    for (x, y), z in zip(coords, Z):
        ax.annotate(chemical_symbols[z], (x, y), fontsize=8, ha="center", va="center")
    fig.colorbar(sc, ax=ax, label="group", ticks=range(1, 19))
    label = (
        ["PC 1", "PC 2"]
        if explained is None
        else [f"PC {k + 1} ({100 * e:.0f} %)" for k, e in enumerate(explained)]
    )
    ax.set_xlabel(label[0])
    ax.set_ylabel(label[1])
    return _finish(fig, path)


def learning_curve_figure(csv_path, path=None, chemical_accuracy=0.043):
    """Fig. 6 (left): test MAE of U0 against N, one line per model and T (from
    learning_curve.csv). A point trained with several seeds is their mean, with a bar from the
    lowest to the highest; hollow markers: a run stopped by its time budget."""
    plt = _plt()
    rows = read_rows(csv_path)
    fig, ax = plt.subplots(figsize=(5, 4))
    # colour = T, marker and line style = model, so that no two lines look alike
    for model, marker, style in (("dtnn", "s", "--"), ("schnet", "o", "-")):
        for T in sorted({int(r["T"]) for r in rows if r["model"] == model}):
            points = learning_curve_points(rows, model, T)
            N = [p["N"] for p in points]
            mean = np.array([p["mean"] for p in points])
            bars = np.array([[p["mean"] - p["min"], p["max"] - p["mean"]] for p in points]).T
            line = ax.errorbar(
                N, mean, yerr=bars, marker=marker, ls=style, color=f"C{T - 1}", capsize=2,
                label=f"{'SchNet' if model == 'schnet' else 'DTNN'} T={T}",
            )[0]  # fmt: skip
            unfinished = [p for p in points if not p["finished"]]
            if unfinished:  # stopped by its time budget: hollow
                ax.plot(
                    [p["N"] for p in unfinished],
                    [p["mean"] for p in unfinished],
                    ls="none",
                    marker=marker,
                    markerfacecolor="white",
                    markeredgecolor=line.get_color(),
                    zorder=line.get_zorder() + 0.1,  # over the filled marker of the data line
                )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.axhline(chemical_accuracy, color="k", ls="--", lw=0.8, label="chemical accuracy")
    ax.set_title("bars: lowest to highest of the seeds; hollow: stopped by time", fontsize=8)
    ax.set_xlabel("training molecules N")
    ax.set_ylabel("test MAE of U0 (eV)")
    ax.legend(fontsize=8)
    return _finish(fig, path)


def learning_curve_points(rows, model: str, T: int) -> list[dict]:
    """One model's points of the learning curve: per N the mean, lowest and highest test MAE
    over its seeds (eV), how many seeds, and whether every run finished."""
    points = []
    for N in sorted({int(r["N"]) for r in rows if r["model"] == model and int(r["T"]) == T}):
        runs = [r for r in rows if r["model"] == model and int(r["T"]) == T and int(r["N"]) == N]
        mae = np.array([float(r["test_mae_eV"]) for r in runs])
        points.append(
            dict(N=N, mean=float(mae.mean()), min=float(mae.min()), max=float(mae.max()),
                 seeds=len(runs), finished=all(r["finished"] == "True" for r in runs))
        )  # fmt: skip
    return points


def scaling_figure(csv_path, quantum_chemistry=None, path=None):
    """Time and peak memory against the number of atoms (benchmarks/bench_scaling.py's CSV):
    one line per method, with O(n) and O(n^2) guides through the first point of the cell lists.

    ``quantum_chemistry``: {name: (seconds for n0 atoms, n0, exponent)}, drawn dashed as
    extrapolations (e.g. GFN2-xTB and DFT measured on C20, with the O(n^3) and O(n^4) of the
    thesis summary's remark), so that the network's cost can be seen against theirs.
    """
    plt = _plt()
    rows = read_rows(csv_path)
    methods = list(dict.fromkeys(r["method"] for r in rows))
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(9, 3.8))
    for k, method in enumerate(methods):
        pts = sorted(
            (int(r["atoms"]), float(r["seconds"]), float(r["peak_MB"]))
            for r in rows
            if r["method"] == method
        )
        n, t, mb = (np.array(c) for c in zip(*pts))
        style = dict(marker="o", ms=3, color=f"C{k}", label=method)
        ax_t.loglog(n, t, **style)
        ax_m.loglog(n, np.maximum(mb, 1.0), **style)
    n_all = np.array(sorted({int(r["atoms"]) for r in rows}), dtype=float)
    if quantum_chemistry:
        for k, (name, (seconds, n0, power)) in enumerate(quantum_chemistry.items()):
            ax_t.loglog(
                n_all, seconds * (n_all / n0) ** power, ls="--", color=f"0.{3 + 3 * k}",
                label=f"{name}, O(n^{power}) from {n0} atoms",
            )  # fmt: skip
    n0, t0 = min(  # the smallest system of the first method
        (int(r["atoms"]), float(r["seconds"])) for r in rows if r["method"] == methods[0]
    )
    for power, label in ((1, "O(n)"), (2, "O(n²)")):
        ax_t.loglog(n_all, t0 * (n_all / n0) ** power, color="k", lw=0.6, ls=":")
        ax_t.annotate(label, (n_all[-1], t0 * (n_all[-1] / n0) ** power), fontsize=7)
    ax_t.set(xlabel="atoms", ylabel="seconds per call", ylim=(1e-5, 1e6))
    ax_m.set(xlabel="atoms", ylabel="peak memory of the process (MB)")
    ax_t.legend(fontsize=6, loc="upper left")
    fig.tight_layout()
    return _finish(fig, path)


def model_label(row: dict) -> str:
    """A study row's model in words: "N = 1,000, T = 3, seed 1, test MAE 0.176 eV" (the error
    tells apart two models of the same N, T and seed trained with other schedules)."""
    mae = row["test_energy_mae"]  # None for a checkpoint (best.pt), which records none
    return f"N = {row['n_train']:,}, T = {row['n_interactions']}, seed {row['seed']}" + (
        "" if mae is None else f", test MAE {mae:.3f} eV"
    )


def shell_agreement_figure(study: dict, path=None):
    """Fig. 4 against GFN2-xTB over probe shells (``partition_study --shells``'s JSON): left, the
    rank correlation (Spearman) of each model's patch means with GFN2-xTB's; right, how low the
    N-H vacancy lies (share of the shell above it: 1 is the lowest spot) for GFN2-xTB (black)
    and each model. One line per model."""
    plt = _plt()
    fig, (ax_r, ax_v) = plt.subplots(1, 2, figsize=(9, 4.8))
    shells = [r["shell_distance"] for r in study["references"]]
    for k, model in enumerate(dict.fromkeys(r["model"] for r in study["rows"])):
        rows = sorted(
            (r for r in study["rows"] if r["model"] == model), key=lambda r: r["shell_distance"]
        )
        d = [r["shell_distance"] for r in rows]
        style = dict(marker="o", ms=3, color=f"C{k}", label=model_label(rows[0]))
        ax_r.plot(d, [r["patch_means_vs_reference"]["spearman"] for r in rows], **style)
        ax_v.plot(d, [r["vacancy"]["share_above"] for r in rows], **style)
    ax_v.plot(
        shells, [r["vacancy"]["share_above"] for r in study["references"]], "k-s", ms=4,
        label="GFN2-xTB",
    )  # fmt: skip
    ax_r.axhline(0, color="0.6", lw=0.6)
    ax_r.set(xlabel="probe shell outside the atoms (Å)", ylim=(-1.05, 1.05),
             ylabel="Spearman of patch means with GFN2-xTB")  # fmt: skip
    ax_v.set(xlabel="probe shell outside the atoms (Å)", ylim=(0, 1.02),
             ylabel="share of the shell above the vacancy")  # fmt: skip
    # one legend for both panels, below them: inside a panel it would hide lines
    fig.legend(*ax_v.get_legend_handles_labels(), loc="lower center", ncol=2, fontsize=7)
    return _finish(fig, path, rect=(0, 0.24, 1, 1))


def distance_figure(histograms: dict, path=None):
    """Fig. 6 (right): C-C distance distributions, one curve per run (e.g. {"P = 1": h1,
    "P = 8": h8})."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for label, h in histograms.items():
        ax.plot(h["r"], h["beads"], label=label)
    ax.set_xlabel("C-C distance (Å)")
    ax.set_ylabel("probability density (1/Å)")
    ax.legend(fontsize=8)
    return _finish(fig, path)


def history_figure(history, path=None):
    """Validation energy (and force) MAE and the learning rate per epoch of one training run."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.semilogy(history.epoch, history.val_energy_mae, label="validation energy MAE (eV)")
    if not np.all(np.isnan(history.val_force_mae)):
        ax.semilogy(history.epoch, history.val_force_mae, label="validation force MAE (eV/Å)")
    ax.set_xlabel("epoch")
    ax2 = ax.twinx()
    ax2.semilogy(history.epoch, history.lr, color="gray", ls=":")
    ax2.set_ylabel("learning rate (dotted)")
    ax.legend(loc="upper right", fontsize=8)
    return _finish(fig, path)


# ---------------------------------------------------------------------------------------------
# Diagrams: drawn by code, so that they are tested and can be redrawn


def _box(ax, x, y, text, width=2.6, height=0.5, color="#dbe9f6"):
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(
        FancyBboxPatch(
            (x - width / 2, y - height / 2), width, height, boxstyle="round,pad=0.04",
            facecolor=color, edgecolor="0.3", linewidth=0.8,
        )
    )  # fmt: skip
    ax.text(x, y, text, ha="center", va="center", fontsize=9)


def _column(ax, x, ys, texts, colors, width, height=0.5):
    """Boxes at (x, y) for each y, each joined to the next by a downward arrow."""
    for y, text, color in zip(ys, texts, colors):
        _box(ax, x, y, text, width=width, height=height, color=color)
    for y0, y1 in zip(ys[:-1], ys[1:]):
        _arrow(ax, (x, y0 - height / 2 - 0.02), (x, y1 + height / 2 + 0.02))


def _arrow(ax, start, end, color="0.3", style="-|>", rad=0.0):
    ax.annotate(
        "", xy=end, xytext=start,
        arrowprops=dict(arrowstyle=style, color=color, lw=0.9, connectionstyle=f"arc3,rad={rad}"),
    )  # fmt: skip


def refinement_figure(symbols=("O", "H", "H"), T=3, path=None):
    """Fig. 1: iterative refinement, eq. (1). Each column is one step t; every atom's
    representation x_i^(t+1) is x_i^(t) (straight arrow, the residual) plus the interactions
    v^(t) with its neighbours (slanted arrows). Returns the Figure."""
    plt = _plt()
    n = len(symbols)
    fig, ax = plt.subplots(figsize=(1.9 * (T + 1) + 0.6, 0.9 * n + 1.0))
    colors = {"H": "#f2f2f2", "C": "#909090", "N": "#3050f8", "O": "#ff6b6b", "F": "#90e050"}
    for t in range(T + 1):
        for i, s in enumerate(symbols):
            circle = plt.Circle((2 * t, -i), 0.28, facecolor=colors.get(s, "#dbe9f6"),
                                edgecolor="0.2", zorder=3)  # fmt: skip
            ax.add_patch(circle)
            label = f"$x_{{{s}{i + 1}}}^{{({t})}}$" if t else f"$A_{{{s}}}$"
            ax.text(2 * t, -i, label, ha="center", va="center", fontsize=8, zorder=4)
            if t < T:
                _arrow(ax, (2 * t + 0.3, -i), (2 * t + 1.7, -i))  # residual: x^(t) -> x^(t+1)
                for j in range(n):
                    if j != i:
                        _arrow(ax, (2 * t + 0.3, -j), (2 * t + 1.7, -i), color="#d62728")
        ax.text(2 * t, 0.75, "embedding" if t == 0 else f"t = {t}", ha="center", fontsize=9)
    ax.text(T, -n + 0.25, "black: $x_i^{(t)}$ carried on;  red: $v^{(t)}(x_j, d_{ij})$ from each "
            "neighbour j, summed (eq. 1)", ha="center", fontsize=8)  # fmt: skip
    ax.set(xlim=(-0.6, 2 * T + 0.6), ylim=(-n + 0.0, 1.1), aspect="equal")
    ax.axis("off")
    return _finish(fig, path)


def schnet_figure(path=None):
    """Fig. 3: the SchNet architecture. Left, the whole network from atom types and positions to
    the energy; right, one interaction block with its filter-generating network. Returns the
    Figure."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8.4, 5.2))
    steps = [
        ("$Z_i$, $\\mathbf{r}_i$  (atom types, positions)", "#ffffff"),
        ("embedding  $x_i^{(0)} = A_{Z_i}$", "#dbe9f6"),
        ("interaction $t = 1$  (+ residual, eq. 1)", "#fde2c8"),
        ("⋮  T interaction blocks", "#ffffff"),
        ("atom-wise  F → F/2, ssp", "#dbe9f6"),
        ("atom-wise  F/2 → 1:  $E_i$", "#dbe9f6"),
        ("sum  $E = \\sum_i E_i$  (eq. 3)", "#e3f1dc"),
    ]
    ys = np.linspace(4.6, 0.0, len(steps))
    _column(ax, 1.6, ys, [t for t, _ in steps], [c for _, c in steps], width=3.3)
    _arrow(ax, (3.3, ys[-1]), (4.1, ys[-1]))
    ax.text(4.2, ys[-1], "$F_i = -\\partial E / \\partial \\mathbf{r}_i$ (eq. 5)", va="center",
            fontsize=9)  # fmt: skip
    block = [  # one interaction block, drawn out
        "atom-wise  $h_i = x_i W_\\mathrm{in}$",
        "cfconv  $y_i = \\sum_j h_j \\circ W(d_{ij})$  (eq. 4)",
        "atom-wise, ssp, atom-wise",
        "$x_i \\leftarrow x_i + v_i$",
    ]
    _column(ax, 6.2, [4.3, 3.1, 1.9, 0.7], block, ["#fde2c8"] * 4, width=3.4)
    filters = [
        "$d_{ij} = \\|\\mathbf{r}_j - \\mathbf{r}_i\\|$",
        "Gaussians  $e^{-\\gamma (d_{ij} - \\mu_k)^2}$",
        "dense, ssp, dense, ssp",
        "× cosine cutoff  $f(d_{ij})$",
    ]
    _column(ax, 9.6, [4.3, 3.5, 2.7, 1.9], filters, ["#e8e0f3"] * 4, width=2.7, height=0.45)
    _arrow(ax, (8.25, 1.9), (7.9, 3.0), rad=0.2)
    ax.text(9.6, 4.85, "filter-generating network $W(d_{ij})$", ha="center", fontsize=9)
    ax.text(6.2, 4.85, "one interaction block", ha="center", fontsize=9)
    _arrow(ax, (3.25, ys[2]), (4.5, 4.3), color="0.6", style="-", rad=-0.2)
    ax.set(xlim=(-0.2, 11.1), ylim=(-0.45, 5.1))
    ax.axis("off")
    return _finish(fig, path)


def ring_polymer_figure(P=8, spread=0.35, seed=1, path=None):
    """A ring polymer of P beads for each of three atoms (chapter 7): every quantum atom becomes
    P classical copies joined by harmonic springs into a closed ring; the forces act on every
    bead, the centroid (cross) is the average of the ring. Returns the Figure."""
    plt = _plt()
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [1.6, 0.5], [3.0, -0.2]])
    fig, ax = plt.subplots(figsize=(6.0, 2.8))
    angle = 2 * np.pi * np.arange(P) / P
    for k, centre in enumerate(centres):
        ring = np.stack([np.cos(angle), np.sin(angle)], 1) * spread * (1 + 0.25 * k)
        beads = centre + ring + rng.normal(scale=0.08, size=(P, 2))
        closed = np.vstack([beads, beads[:1]])  # bead P is joined back to bead 1
        ax.plot(closed[:, 0], closed[:, 1], color="0.5", lw=1, zorder=1)
        ax.scatter(beads[:, 0], beads[:, 1], s=60, color=f"C{k}", edgecolor="k", zorder=2)
        ax.plot(*beads.mean(0), marker="x", color="k", ms=8, mew=2, zorder=3)
    ax.text(1.5, -1.15, f"P = {P} beads per atom; springs $\\frac{{1}}{{2}} m \\omega_P^2 "
            "|\\mathbf{q}_j - \\mathbf{q}_{j+1}|^2$ close each ring; × the centroid",
            ha="center", fontsize=9)  # fmt: skip
    ax.set(xlim=(-0.9, 3.9), ylim=(-1.35, 1.3), aspect="equal")
    ax.axis("off")
    return _finish(fig, path)
