"""What minischnet ships, found by name, and where it keeps what you make.

The shipped files (four trained models, the QM9 split, the C20 and crystal data sets, the results
the tutorials show) travel inside the installed package, as ``minischnet/_data``; in a clone of the
repository they are its ``data/`` folder. ``find`` looks for a file in these folders, in order,
and the first that holds it wins::

    $MINISCHNET_DATA        a folder laid out like data/ (models/, c20/, qm9/, materials/, results/)
    user_dir()              what you made yourself, e.g. ``python -m minischnet.data.make_c20``
    the clone's data/       when minischnet runs from a source checkout
    the package's _data     inside an installed wheel

Nothing is ever written into the installed package: the data recipes write into ``user_dir()``
unless told otherwise, the QM9 cache goes to ``cache_dir()``. The functions::

    find(relative)          the path of a shipped or user-made file, or an error that says how to
                            get it
    model_path(name)        a shipped model by name ("c20_schnet"), or a path to a .pt file
    shipped_models()        every shipped model: what it learned, from how much data, how well
    models_table()          the same as text (``python -m minischnet models``)
    data_dir()              the folder of shipped data ($MINISCHNET_DATA, the clone's or the
                            package's)
    user_dir(), cache_dir() where your own files and the QM9 cache go (platformdirs: on Linux
                            ~/.local/share/minischnet and ~/.cache/minischnet)
    copy_tutorials(folder)  the eight notebooks, a handout (``python -m minischnet tutorials``)
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import platformdirs

_CLONE = Path(__file__).resolve().parents[1] / "data"  # a source checkout's data/ folder
_PACKAGE = Path(__file__).resolve().parent / "_data"  # the copy inside an installed wheel
_TUTORIALS = (
    Path(__file__).resolve().parents[1] / "tutorials",
    Path(__file__).parent / "_tutorials",
)

INSTALL_HINT = 'pip install minischnet  (a course: pip install "minischnet[tutorials]")'


def _is_clone_data(folder: Path) -> bool:
    return (folder / "JOBS.md").exists()  # data/JOBS.md is the clone's provenance table


def data_dir() -> Path:
    """The folder of shipped data: $MINISCHNET_DATA if set, else the clone's data/ folder when
    minischnet runs from a source checkout, else the copy inside the installed package."""
    if os.environ.get("MINISCHNET_DATA"):
        return Path(os.environ["MINISCHNET_DATA"])
    return _CLONE if _is_clone_data(_CLONE) else _PACKAGE


def user_dir() -> Path:
    """Where your own data go (regenerated data sets): $MINISCHNET_DATA if set, else the
    platform's user data folder. Never inside the installed package."""
    if os.environ.get("MINISCHNET_DATA"):
        return Path(os.environ["MINISCHNET_DATA"])
    return Path(platformdirs.user_data_dir("minischnet", appauthor=False))


def cache_dir() -> Path:
    """Where rebuildable caches go (QM9 as one .npz): $MINISCHNET_CACHE if set, else the
    platform's user cache folder."""
    if os.environ.get("MINISCHNET_CACHE"):
        return Path(os.environ["MINISCHNET_CACHE"])
    return Path(platformdirs.user_cache_dir("minischnet", appauthor=False))


def search_path() -> list[Path]:
    """The folders ``find`` looks in, first match wins (see the module docstring)."""
    folders = [user_dir()]  # listed even before it exists: it is where your own files go
    if _is_clone_data(_CLONE):
        folders.append(_CLONE)
    if _PACKAGE.is_dir():
        folders.append(_PACKAGE)
    return list(dict.fromkeys(folders))  # $MINISCHNET_DATA is user_dir() when set: once only


def find(relative: str, recipe: str | None = None) -> Path:
    """The first ``folder / relative`` on the search path that exists, e.g.
    ``find("c20/c20.npz")``; a missing file raises FileNotFoundError naming the folders searched,
    the install that brings it and, if given, the ``recipe`` (command) that makes it."""
    folders = search_path()
    for folder in folders:
        if (folder / relative).exists():
            return folder / relative
    how = f"\n  or make it yourself: {recipe}" if recipe else ""
    raise FileNotFoundError(
        f"{relative} was not found in any of: {', '.join(str(f) for f in folders)}.\n"
        f"  It ships with minischnet: {INSTALL_HINT}{how}"
    )


def shipped_models() -> dict[str, dict]:
    """name -> what the shipped model learned (``data``), from how many structures (``n_train``),
    its test errors (eV, eV/atom, eV/Å; None where it has no forces), epochs and a note, read from
    the .json beside each model."""
    models = {}
    for folder in reversed(search_path()):  # earlier folders override later ones
        for meta in sorted((folder / "models").glob("*.json")):
            if meta.with_suffix(".pt").exists():
                info = json.loads(meta.read_text())
                models[meta.stem] = {
                    "data": info.get("data"),
                    "kind": info.get("kind"),
                    "n_train": info.get("n_train"),
                    "epochs": info.get("epochs"),
                    "test_energy_mae": info.get("test_energy_mae"),
                    "test_energy_mae_per_atom": info.get("test_energy_mae_per_atom"),
                    "test_force_mae": info.get("test_force_mae"),
                    "note": info.get("note", ""),
                    "path": meta.with_suffix(".pt"),
                }
    return dict(sorted(models.items()))


def models_table() -> str:
    """The shipped models as a text table: name, data, training structures, epochs, test errors."""

    def mev(x):
        return "-" if x is None else f"{1000 * x:.1f}"

    rows = [("name", "data", "n_train", "epochs", "E MAE meV", "E MAE meV/atom", "F MAE meV/Å")]
    for name, m in shipped_models().items():
        rows.append(
            (name, str(m["data"]), str(m["n_train"]), str(m["epochs"]), mev(m["test_energy_mae"]),
             mev(m["test_energy_mae_per_atom"]), mev(m["test_force_mae"]))
        )  # fmt: skip
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.append("errors on each model's test set; load one with minischnet.load(name)")
    return "\n".join(lines)


def is_model_name(name) -> bool:
    """True for a bare name such as "qm9_schnet" (a str with no folder and no suffix)."""
    return isinstance(name, str) and Path(name).name == name and not Path(name).suffix


def model_path(name_or_path) -> Path:
    """The .pt file of a shipped model given by name ("c20_schnet"), or ``name_or_path`` itself
    when it is a path (a str with a folder or a suffix, or a Path) or an existing file."""
    if not is_model_name(name_or_path) or Path(name_or_path).exists():
        return Path(name_or_path)
    known = shipped_models()
    if name_or_path not in known:
        raise FileNotFoundError(
            f"no shipped model is called {name_or_path!r}; the shipped models are "
            f"{', '.join(known) or 'none (is minischnet installed whole?)'}, "
            "or give the path of a .pt file"
        )
    return known[name_or_path]["path"]


def copy_tutorials(folder) -> tuple[list[Path], list[Path]]:
    """Copy the tutorial notebooks into ``folder`` (made if needed); a notebook already there is
    kept, never overwritten (it may hold a student's work). Returns (copied, kept)."""
    source = next((s for s in _TUTORIALS if any(s.glob("*.ipynb"))), None)
    if source is None:
        raise FileNotFoundError(f"the tutorial notebooks are not installed: {INSTALL_HINT}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    copied, kept = [], []
    for notebook in sorted(source.glob("*.ipynb")) + [source / "nbval_sanitize.cfg"]:
        target = folder / notebook.name
        if target.exists():
            kept.append(target)
        else:
            shutil.copyfile(notebook, target)
            copied.append(target)
    return copied, kept
