"""The figures of the thesis summary, made from results: tutorials call these, scripts save them.

    filter_figure            Fig. 2   energy along a stretched bond, continuous vs discrete filters
    local_potential_figure   Fig. 4   local chemical potential on a shell around a molecule
    local_potential_view     Fig. 4   the same in 3D (py3Dmol), colored by potential
    embedding_figure         Fig. 5   first two principal components of element embeddings
    learning_curve_figure    Fig. 6   (left) test MAE against training set size
    distance_figure          Fig. 6   (right) C-C distance distributions, classical vs P = 8
    history_figure                    one training run: validation MAE and learning rate per epoch

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


def _finish(fig, path):
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=150)
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
    learning_curve.csv)."""
    plt = _plt()
    rows = read_rows(csv_path)
    fig, ax = plt.subplots(figsize=(5, 4))
    # colour = T, marker and line style = model, so that no two lines look alike
    for model, marker, style in (("dtnn", "s", "--"), ("schnet", "o", "-")):
        for T in sorted({int(r["T"]) for r in rows if r["model"] == model}):
            pts = sorted(
                (int(r["N"]), float(r["test_mae_eV"]), r["finished"] == "True")
                for r in rows
                if r["model"] == model and int(r["T"]) == T
            )
            (line,) = ax.loglog(
                [p[0] for p in pts],
                [p[1] for p in pts],
                marker=marker,
                ls=style,
                color=f"C{T - 1}",
                label=f"{'SchNet' if model == 'schnet' else 'DTNN'} T={T}",
            )
            unfinished = [p for p in pts if not p[2]]
            if unfinished:  # stopped by its time budget: hollow
                ax.loglog(
                    [p[0] for p in unfinished],
                    [p[1] for p in unfinished],
                    ls="none",
                    marker=marker,
                    markerfacecolor="white",
                    markeredgecolor=line.get_color(),
                )
    ax.axhline(chemical_accuracy, color="k", ls="--", lw=0.8, label="chemical accuracy")
    ax.set_title("hollow: training stopped by its time budget", fontsize=8)
    ax.set_xlabel("training molecules N")
    ax.set_ylabel("test MAE of U0 (eV)")
    ax.legend(fontsize=8)
    return _finish(fig, path)


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
