"""Progress bars (tqdm) on every long loop; TQDM_DISABLE=1 silences them all (tests, logs)."""

import os

from tqdm.auto import tqdm


def progress(iterable=None, quiet: bool = False, **kwargs):
    return tqdm(iterable, disable=quiet or os.environ.get("TQDM_DISABLE", "") not in ("", "0"), **kwargs)
