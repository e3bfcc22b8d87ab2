"""Reading (and writing) the result files the studies ship in data/results/.

The study scripts (in the studies folder) write these files; the figures, the tutorials and the
tests read them through the functions here, so no reader depends on a study. A shipped result is
named by its path under results/ and found wherever minischnet is (a clone or an installed wheel).

    path, read                                   a shipped result: its path; JSON or CSV contents
    DISTANCE_BINS, densities, load_histograms    C20 RPMD distance histograms (Fig. 6 right)
    finished_rpmd_study                          which C20 study to show
    read_rows, write_csv                         the CSV tables of the learning curve and variants
    variants_summary                             mean and spread over seeds of each SchNet variant
    tuning_summary                               the small-N settings, chosen on validation
    energy_loss_comparison                       squared against absolute error, seed by seed
    plus_minus                                   'value ± error', rounded to the error's digits
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from ._atomic import atomic_write
from .resources import find

# 0.005 Å bins over 1.0-4.6 Å: C20's diameter is 4.1 Å; a pair stretched past 4.6 Å is not counted
# (about 1 in 10^7 at 300 K; the number is 190 P frames minus the counts)
DISTANCE_BINS = np.linspace(1.0, 4.6, 721)


def path(name: str) -> Path:
    """The file of a shipped result, e.g. ``path("learning_curve/learning_curve.csv")``."""
    return find(f"results/{name}")


def read(name: str):
    """A shipped result's contents: a .json file as a dict, a .csv file as a list of row dicts
    (strings), e.g. ``read("ipi_crosscheck.json")``."""
    file = path(name)
    if file.suffix == ".json":
        return json.loads(file.read_text())
    if file.suffix == ".csv":
        return read_rows(file)
    raise ValueError(f"read() takes a .json or .csv result, not {name!r}; path() gives its file")


def densities(counts: dict) -> dict:
    """Counts {"beads", "centroids"} over DISTANCE_BINS -> densities (1/Å) at the bin centres."""
    widths = np.diff(DISTANCE_BINS)
    centres = 0.5 * (DISTANCE_BINS[1:] + DISTANCE_BINS[:-1])
    return {
        "r": centres,
        **{k: counts[k] / max(counts[k].sum(), 1) / widths for k in ("beads", "centroids")},
    }


def load_histograms(out, P: int) -> dict:
    """The distance densities of a finished or running C20 study, from ``out/P{P}.npz``."""
    with np.load(Path(out) / f"P{P}.npz") as saved:
        return densities({k: saved[k] for k in ("beads", "centroids")})


def finished_rpmd_study(results=None) -> Path | None:
    """The longest C20 study whose summary.json holds both P = 1 and P = 8: the 1.25 ns runs
    (``c20_rpmd_long``) once their joint summary is written, else the 20 ps study (``c20_rpmd``).
    ``results`` is a results folder; by default the shipped one."""
    for name in ("c20_rpmd_long", "c20_rpmd"):
        if results is None:
            try:
                summary = path(f"{name}/summary.json")
            except FileNotFoundError:
                continue
        else:
            summary = Path(results) / name / "summary.json"
        if summary.exists() and {"P1", "P8"} <= set(json.loads(summary.read_text())):
            return summary.parent
    return None


def read_rows(path) -> list[dict]:
    """The rows of a CSV file as dicts of strings; [] when the file does not exist yet."""
    path = Path(path)
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def write_csv(path, fields: list[str], rows) -> None:
    """Rows (dicts, in order) to ``path`` atomically: a crash leaves the previous file."""
    with atomic_write(Path(path), "w") as f:
        writer = csv.DictWriter(f, fields)
        writer.writeheader()
        writer.writerows(rows)


def variants_summary(path) -> dict:
    """variant -> (mean test MAE, standard deviation over seeds, number of seeds), finished runs
    only."""
    runs: dict[str, list] = {}
    for r in read_rows(path):
        if r["finished"] == "True":
            runs.setdefault(r["variant"], []).append(float(r["test_mae_eV"]))
    return {
        v: (float(np.mean(x)), float(np.std(x, ddof=1)) if len(x) > 1 else float("nan"), len(x))
        for v, x in runs.items()
    }


def tuning_summary(path) -> dict:
    """model -> {"settings": {setting: {"val", "test", "seeds"}}, "chosen", "common_seeds"} from
    the small-N tuning CSV (finished runs only). Settings are compared on equal draws: "val" and
    "test" are means over the seeds every setting of that model was trained with
    ("common_seeds"); "seeds" counts a setting's finished runs. The chosen setting has the lowest
    mean validation MAE; the test MAE plays no part in the choice."""
    runs: dict = {}
    for r in read_rows(path):
        if r["finished"] == "True":
            runs.setdefault(r["model"], {}).setdefault(r["setting"], {})[int(r["seed"])] = (
                float(r["val_mae_eV"]),
                float(r["test_mae_eV"]),
            )
    summary = {}
    for model, settings in runs.items():
        common = sorted(set.intersection(*(set(s) for s in settings.values())))
        if not common:
            summary[model] = {"settings": {}, "chosen": None, "common_seeds": []}
            continue
        means = {
            name: {
                "val": float(np.mean([seeds[s][0] for s in common])),
                "test": float(np.mean([seeds[s][1] for s in common])),
                "seeds": len(seeds),
            }
            for name, seeds in settings.items()
        }
        summary[model] = {
            "settings": means,
            "chosen": min(means, key=lambda name: means[name]["val"]),
            "common_seeds": common,
        }
    return summary


def energy_loss_comparison(squared_csv, absolute_csv) -> list[dict]:
    """The same points of the learning curve trained on the squared error (loss (6)) and on the
    absolute error: one dict per (model, T, N) of ``absolute_csv`` with the test MAEs of the
    seeds both CSVs hold (finished runs), seed by seed ("squared", "absolute", lists in the order
    of "seeds"), and the change of the mean, ``change`` = mean(absolute) / mean(squared) - 1."""

    def by_point(path):
        out: dict = {}
        for r in read_rows(path):
            if r["finished"] == "True":
                point = (r["model"], int(r["T"]), int(r["N"]))
                out.setdefault(point, {})[int(r.get("seed") or 0)] = float(r["test_mae_eV"])
        return out

    squared, absolute = by_point(squared_csv), by_point(absolute_csv)
    rows = []
    for point in sorted(absolute):
        seeds = sorted(set(absolute[point]) & set(squared.get(point, {})))
        if not seeds:
            continue
        sq = [squared[point][s] for s in seeds]
        ab = [absolute[point][s] for s in seeds]
        model, T, N = point
        change = float(np.mean(ab) / np.mean(sq) - 1)
        rows.append(
            dict(model=model, T=T, N=N, seeds=seeds, squared=sq, absolute=ab, change=change)
        )
    return rows


def shell_summary(result: dict) -> list[dict]:
    """One line per shell of a ``--shells`` study: where GFN2-xTB puts its lowest patch, how
    many models agree, the models' rank correlations with GFN2-xTB (median, min, max over the
    models; over all points and over the patch means), and how low the vacancy lies for
    GFN2-xTB and for the models (``share_above``, median, min, max)."""

    def spread(values):
        return [float(np.median(values)), float(np.min(values)), float(np.max(values))]

    lines = []
    for reference in result["references"]:
        d = reference["shell_distance"]
        rows = [r for r in result["rows"] if r["shell_distance"] == d]
        truth = min(reference["patch_means"], key=reference["patch_means"].get)
        lines.append(
            {
                "shell_distance": d,
                "gfn2_lowest_patch": truth,
                "models": len(rows),
                "models_with_that_lowest_patch": sum(r["lowest_patch"] == truth for r in rows),
                # by element: the two oxygens (or the three hydrogens) count as one answer
                "models_with_that_element_lowest": sum(
                    r["lowest_patch"].rstrip("0123456789") == truth.rstrip("0123456789")
                    for r in rows
                ),
                "models_lowest_patches": [r["lowest_patch"] for r in rows],
                "spearman_points": spread([r["masked_vs_reference"]["spearman"] for r in rows]),
                "spearman_patch_means": spread(
                    [r["patch_means_vs_reference"]["spearman"] for r in rows]
                ),
                "gfn2_vacancy_share_above": reference["vacancy"]["share_above"],
                "models_vacancy_share_above": spread([r["vacancy"]["share_above"] for r in rows]),
            }
        )
    return lines


def plus_minus(value: float, error: float, significant: int = 1) -> str:
    """``value ± error`` with the error rounded to ``significant`` digits and the value to the same
    decimal place: ``plus_minus(1.56542, 0.000215)`` is ``"1.5654 ± 0.0002"``. An error that is
    zero or not finite is written as it is, never rounded to a misleading "± 0.000"."""
    if not (math.isfinite(error) and error > 0):
        return f"{value:g} ± {error:g}"
    decimals = max(0, significant - 1 - math.floor(math.log10(error)))
    return f"{value:.{decimals}f} ± {error:.{decimals}f}"
