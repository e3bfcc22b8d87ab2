"""Two scales, one code: MINISCHNET_SCALE=ci (a CPU minute per notebook) or full (the paper's
settings)."""

import os


def scale(ci, full):
    """``ci`` unless MINISCHNET_SCALE=full: sizes, epochs and steps in the tutorials pick through
    this."""
    value = os.environ.get("MINISCHNET_SCALE", "ci")
    if value not in ("ci", "full"):
        raise ValueError(f"MINISCHNET_SCALE must be 'ci' or 'full', got {value!r}")
    return full if value == "full" else ci
