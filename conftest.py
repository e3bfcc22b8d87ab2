"""Settings for the whole test suite (tests/ and the notebooks in tutorials/).

Every notebook is a slow test: ``python -m pytest -m "not slow"`` leaves them out (CI runs them).
"""

import pytest


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)
