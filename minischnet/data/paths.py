"""Where the shipped data live: the repository's data/ folder, or $MINISCHNET_DATA."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """The folder holding models/, results/, qm9/, c20/ and materials/ (or $MINISCHNET_DATA)."""
    return Path(os.environ.get("MINISCHNET_DATA", Path(__file__).resolve().parents[2] / "data"))
