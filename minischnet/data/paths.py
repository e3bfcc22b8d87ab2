"""Where the shipped data live: the repository's data/ folder, or $MINISCHNET_DATA."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np


def data_dir() -> Path:
    """The folder holding models/, results/, qm9/, c20/ and materials/ (or $MINISCHNET_DATA)."""
    return Path(os.environ.get("MINISCHNET_DATA", Path(__file__).resolve().parents[2] / "data"))


def read_npz(path: Path, recipe: str, keys=None) -> dict:
    """The arrays of a shipped .npz file (all, or ``keys``), or an error that says what to do.

    ``recipe`` is the command that makes the file; a missing file names it, a damaged one (cut
    short, overwritten, keys missing) says so and names it too.
    """
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; make it with: {recipe}")
    try:
        with np.load(path) as d:
            return {k: d[k] for k in (d.files if keys is None else keys)}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(
            f"{path} is damaged ({type(e).__name__}: {e}); "
            f"restore it from git or regenerate it with {recipe}"
        ) from None
