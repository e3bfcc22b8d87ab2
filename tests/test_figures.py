"""The figure functions draw what they are given."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from ase.build import molecule

from conftest import small_params, torch_model
from minischnet import figures
from minischnet.data import data_dir
from minischnet.interpret import embedding_pca, local_potential, probe_surface

FIGURES = data_dir() / "results" / "figures"


@pytest.mark.parametrize(
    "z, g",
    [
        (1, 1),
        (3, 1),
        (6, 14),
        (9, 17),
        (11, 1),
        (14, 14),
        (22, 4),
        (29, 11),
        (31, 13),
        (35, 17),
        (38, 2),
        (53, 17),
        (55, 1),
        (56, 2),
        (57, 3),
        (72, 4),
        (79, 11),
        (83, 15),
    ],
)
def test_periodic_table_groups(z, g):
    assert figures.group(z) == g


def test_figures_hold_their_data(tmp_path):
    model = torch_model("schnet", small_params("schnet"))
    mol = molecule("HCOOH")
    points = probe_surface(mol, 1.8, 60)
    V = local_potential(model, mol, points)
    fig = figures.local_potential_figure(mol, points, V, path=tmp_path / "abb4.png")
    np.testing.assert_allclose(fig.axes[0].collections[0].get_array(), V)
    assert (tmp_path / "abb4.png").stat().st_size > 5000
    # the colors span the 2nd to 98th percentile: 2 % of the points (rounded) lie beyond each end
    norm = fig.axes[0].collections[0].norm
    for beyond in ((V < norm.vmin).mean(), (V > norm.vmax).mean()):
        assert abs(beyond - 0.02) <= 1.5 / len(V)
    norm = figures.local_potential_figure(mol, points, V, clip=None).axes[0].collections[0].norm
    assert (norm.vmin, norm.vmax) == (V.min(), V.max())

    distances = np.linspace(1.0, 1.6, 61)
    fig = figures.filter_figure(model, mol, 0, 1, distances, path=tmp_path / "abb2.png")
    continuous, discrete = fig.axes[0].lines
    np.testing.assert_allclose(continuous.get_xdata(), distances)
    assert np.ptp(np.diff(discrete.get_ydata())) > np.ptp(np.diff(continuous.get_ydata()))

    coords, explained = embedding_pca(model, ["H", "C", "N", "O", "F"])
    fig = figures.embedding_figure(
        coords, ["H", "C", "N", "O", "F"], explained, path=tmp_path / "abb5.png"
    )
    np.testing.assert_allclose(fig.axes[0].collections[0].get_offsets(), coords)
    assert [t.get_text() for t in fig.axes[0].texts] == ["H", "C", "N", "O", "F"]


def test_py3dmol_view_colors_by_potential():
    pytest.importorskip("py3Dmol")
    mol = molecule("H2O")
    points = np.array([[0.0, 0, 2], [0, 0, -2]])
    view = figures.local_potential_view(mol, points, np.array([-1.0, 1.0]), js="3Dmol-min.js")
    html = view._make_html()
    assert "3Dmol-min.js" in html and "cdn.jsdelivr" not in html
    assert html.count("addSphere") == 2
    # the two values lie beyond the 2nd and 98th percentiles: they take the two ends of the color
    # map
    cmap = matplotlib.colormaps["coolwarm_r"]
    assert (
        matplotlib.colors.to_hex(cmap(0.0)) in html and matplotlib.colors.to_hex(cmap(1.0)) in html
    )


def test_3dmol_is_served_offline():
    pytest.importorskip("py3Dmol")
    view = figures.view3d(molecule("CH4"))
    html = view._make_html()
    assert "data:text/javascript;base64," in html and "cdn.jsdelivr" not in html
    import base64

    start = html.index("data:text/javascript;base64,") + len("data:text/javascript;base64,")
    js = base64.b64decode(html[start : html.index("'", start)])
    assert js.startswith(b"/*!") and b"3Dmol-min.js" in js[:200] and len(js) > 500_000


@pytest.mark.artifacts
@pytest.mark.slow
def test_make_figures_regenerates_from_shipped_files(tmp_path, capsys):
    from minischnet.studies.make_figures import main

    main(["--out", str(tmp_path)])
    for name in (
        "abb2_filters.png",
        "abb4_local_potential.png",
        "abb4_local_potential_minus_H.png",
        "abb4_gfn2_insertion.png",
        "abb4_gfn2_insertion_minus_H.png",
        "abb5_embeddings_qm9.png",
        "abb6_learning_curve.png",
        "abb6_c20_distances.png",
    ):
        # the same picture as the committed one, up to anti-aliasing and float32 round-off
        made, shipped = plt.imread(tmp_path / name), plt.imread(FIGURES / name)
        assert made.shape == shipped.shape, name
        assert np.abs(made - shipped).mean() < 0.01, name


def test_abb6_right_comes_from_the_longest_finished_study(tmp_path):
    """The 1.25 ns runs draw Fig. 6 (right) only once their joint summary holds both P; a long run
    with one P finished (its process writes a summary of its own P) leaves the 20 ps study in
    place."""
    import json

    from minischnet.results import finished_rpmd_study

    assert finished_rpmd_study(tmp_path) is None
    for name, parts in (("c20_rpmd", {"P1": {}, "P8": {}}), ("c20_rpmd_long", {"P8": {}})):
        (tmp_path / name).mkdir()
        (tmp_path / name / "summary.json").write_text(json.dumps({"command": "...", **parts}))
    assert finished_rpmd_study(tmp_path) == tmp_path / "c20_rpmd"
    (tmp_path / "c20_rpmd_long" / "summary.json").write_text(json.dumps({"P1": {}, "P8": {}}))
    assert finished_rpmd_study(tmp_path) == tmp_path / "c20_rpmd_long"


def test_refinement_diagram_draws_every_atom_at_every_step():
    """Fig. 1: (T + 1) x n atoms, and n (n - 1) interaction arrows per step."""
    from matplotlib.patches import Circle

    fig = figures.refinement_figure(("O", "H", "H"), T=3)
    ax = fig.axes[0]
    assert sum(isinstance(p, Circle) for p in ax.patches) == 4 * 3
    red = [a for a in ax.texts if getattr(a, "arrow_patch", None) is not None]
    colors = [a.arrow_patch.get_edgecolor() for a in red]
    n_red = sum(np.allclose(c[:3], (0.839, 0.153, 0.157), atol=1e-2) for c in colors)
    assert n_red == 3 * 2 * 3 and len(red) == n_red + 3 * 3  # plus one residual per atom and step
    plt.close(fig)


def test_schnet_diagram_names_the_equations():
    fig = figures.schnet_figure()
    text = " ".join(t.get_text() for t in fig.axes[0].texts)
    for equation in ("eq. 1", "eq. 3", "eq. 4", "eq. 5"):
        assert equation in text
    assert "cosine cutoff" in text and "Gaussians" in text
    plt.close(fig)


def test_ring_polymer_diagram_closes_each_ring_around_its_centroid():
    fig = figures.ring_polymer_figure(P=6)
    ax = fig.axes[0]
    rings = [line for line in ax.lines if len(line.get_xydata()) == 7]
    centroids = [line for line in ax.lines if line.get_marker() == "x"]
    assert len(rings) == 3 and len(centroids) == 3
    for ring, centroid in zip(rings, centroids):
        xy = ring.get_xydata()
        np.testing.assert_allclose(xy[0], xy[-1])  # bead P joined back to bead 1
        np.testing.assert_allclose(centroid.get_xydata()[0], xy[:-1].mean(0), atol=1e-12)
    plt.close(fig)


def test_scaling_figure_draws_each_methods_times_and_the_guides(tmp_path):
    """Each method's line holds its rows of the CSV; the O(n) guide passes through the first
    point; a quantum-chemistry extrapolation follows its power law."""
    from minischnet.results import write_csv

    rows = [
        {"method": m, "atoms": n, "seconds": s * n**p, "peak_MB": 1e-3 * n, "added_MB": 0}
        for m, s, p in (("cells", 1e-6, 1.0), ("brute", 1e-8, 2.0))
        for n in (100, 1000, 10000)
    ]
    write_csv(tmp_path / "scaling.csv", list(rows[0]), rows)
    fig = figures.scaling_figure(tmp_path / "scaling.csv", quantum_chemistry={"DFT": (10.0, 20, 4)})
    lines = {line.get_label(): line for line in fig.axes[0].lines}
    np.testing.assert_allclose(lines["cells"].get_ydata(), [1e-4, 1e-3, 1e-2])
    np.testing.assert_allclose(lines["brute"].get_xdata(), [100, 1000, 10000])
    dft = lines["DFT, O(n^4) from 20 atoms"]
    np.testing.assert_allclose(dft.get_ydata(), 10.0 * (np.array([100, 1000, 10000]) / 20) ** 4)
    guides = [line for line in fig.axes[0].lines if line.get_linestyle() == ":"]
    np.testing.assert_allclose([g.get_ydata()[0] for g in guides], [1e-4, 1e-4])
    np.testing.assert_allclose(fig.axes[1].lines[0].get_ydata(), [1.0, 1.0, 10.0])  # >= 1 MB


def test_learning_curve_points_and_bars_come_from_the_seeds(tmp_path):
    """Three seeds of a point: the line passes through their mean, the bar spans lowest to
    highest; a point with one run has no bar; an unfinished run makes its point hollow."""
    from minischnet.results import write_csv

    rows = [
        dict(model="schnet", T=3, N=1000, seed=s, test_mae_eV=v, finished="True")
        for s, v in ((0, 0.18), (1, 0.16), (2, 0.20))
    ] + [dict(model="schnet", T=3, N=2000, seed=0, test_mae_eV=0.12, finished="False")]
    write_csv(tmp_path / "lc.csv", list(rows[0]), rows)
    points = figures.learning_curve_points(rows, "schnet", 3)
    assert [(p["N"], p["seeds"], p["finished"]) for p in points] == [
        (1000, 3, True),
        (2000, 1, False),
    ]
    np.testing.assert_allclose([points[0][k] for k in ("mean", "min", "max")], [0.18, 0.16, 0.20])
    fig = figures.learning_curve_figure(tmp_path / "lc.csv")
    ax = fig.axes[0]
    container = next(c for c in ax.containers if c.get_label() == "SchNet T=3")
    data_line, _, (bars,) = container.lines
    np.testing.assert_allclose(data_line.get_ydata(), [0.18, 0.12])
    segments = bars.get_segments()  # the error bars
    np.testing.assert_allclose(segments[0][:, 1], [0.16, 0.20])
    np.testing.assert_allclose(segments[1][:, 1], [0.12, 0.12])
    (hollow,) = [line for line in ax.lines if line.get_markerfacecolor() == "white"]
    np.testing.assert_allclose(hollow.get_xydata(), [[2000, 0.12]])  # the unfinished point
    assert hollow.get_zorder() > data_line.get_zorder()  # drawn over the filled marker


@pytest.mark.artifacts
def test_shipped_learning_curve_figure_draws_the_shipped_csv():
    """Every line of Fig. 6 (left) passes through the mean test MAE over the seeds of each point
    of the shipped CSV, computed here from the rows directly."""
    import csv
    from collections import defaultdict

    from minischnet import results

    with open(results.path("learning_curve/learning_curve.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    runs = defaultdict(list)
    for r in rows:
        runs[r["model"], int(r["T"]), int(r["N"])].append(float(r["test_mae_eV"]))
    ax = figures.learning_curve_figure(results.path("learning_curve/learning_curve.csv")).axes[0]
    drawn = 0
    for container in ax.containers:
        name, T = container.get_label().split(" T=")
        model = {"SchNet": "schnet", "DTNN": "dtnn"}[name]
        line = container.lines[0]
        for N, y in zip(line.get_xdata(), line.get_ydata()):
            assert y == pytest.approx(np.mean(runs[model, int(T), int(N)]), abs=1e-12)
            drawn += 1
    assert drawn == len(runs)  # every point of the CSV is drawn
