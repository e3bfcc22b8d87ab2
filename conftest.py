"""Settings for the whole test suite (tests/ and the notebooks in tutorials/).

The notebooks run under nbval when it is installed (``pip install -e ".[test]"``): every cell
must run, and cells marked ``# NBVAL_CHECK_OUTPUT`` must print what they printed before. Without
nbval the notebooks are left out and the summary says so. Every notebook is a slow test:
``python -m pytest -m "not slow"`` leaves them out (CI runs them).
"""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).parent


def pytest_configure(config):
    if config.pluginmanager.hasplugin("nbval"):
        if not (config.option.nbval or config.option.nbval_lax):
            config.option.nbval_lax = True  # run every cell; compare only the marked outputs
        if config.option.nbval_sanitize_with is None:
            config.option.nbval_sanitize_with = str(ROOT / "tutorials" / "nbval_sanitize.cfg")


def pytest_runtest_setup(item):
    """``@pytest.mark.requires("tblite", ...)``: skip, saying why, where a module is missing."""
    for mark in item.iter_markers("requires"):
        for module in mark.args:
            if importlib.util.find_spec(module) is None:
                pytest.skip(f'needs {module}: pip install {module} (or -e ".[test]", as CI does)')


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not config.pluginmanager.hasplugin("nbval"):
        terminalreporter.write_line(
            "the notebooks in tutorials/ did not run: nbval is not installed "
            '(pip install -e ".[test]")'
        )
