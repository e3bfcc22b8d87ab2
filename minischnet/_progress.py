"""Progress bars (tqdm) on every long loop; TQDM_DISABLE=1 silences them all (tests, logs)."""

import importlib.util
import os

if importlib.util.find_spec("ipywidgets") is not None:
    from tqdm.auto import tqdm  # widgets in notebooks
else:
    from tqdm.std import tqdm  # text bars (tqdm.auto would warn without ipywidgets)


def progress(iterable=None, quiet: bool = False, **kwargs):
    return tqdm(
        iterable, disable=quiet or os.environ.get("TQDM_DISABLE", "") not in ("", "0"), **kwargs
    )
