"""Reading a shipped .npz file with errors that say what to do (where files are: ``resources``)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np


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
