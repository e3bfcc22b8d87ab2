"""Every code block of the README runs as written.

Python blocks run here, each in a fresh namespace from the repository root. Of the shell blocks,
the ``python -m minischnet`` lines run here; the install, test and book commands are the ones
``.ci/run`` runs word for word (checked here), so CI runs them.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


@pytest.mark.parametrize("k", range(len(blocks("python"))))
def test_python_block_runs(k, monkeypatch):
    monkeypatch.chdir(ROOT)
    exec(compile(blocks("python")[k], f"README.md python block {k + 1}", "exec"), {})


def test_ten_line_example_agrees_with_the_reference(monkeypatch, capsys):
    """The first block prints the model's energy and the reference's: the same number."""
    monkeypatch.chdir(ROOT)
    exec(blocks("python")[0], {})
    out = capsys.readouterr().out
    e_model, e_reference = (float(x) for x in re.findall(r"^(-?[\d.]+) eV", out, flags=re.M))
    assert e_model == pytest.approx(e_reference, rel=1e-6)  # float32 model, float64 reference


def test_shell_commands_run_or_are_what_ci_runs(tmp_path):
    ci = (ROOT / ".ci" / "run").read_text() + (ROOT / ".ci" / "installed").read_text()
    lines = [
        line.strip() for block in blocks("bash") for line in block.splitlines() if line.strip()
    ]
    assert lines, "the README has shell blocks"
    for line in lines:
        if line.startswith("python -m minischnet"):
            command = line.split("&&")[0].split()
            done = subprocess.run(
                [sys.executable, *command[1:]],
                capture_output=True,
                text=True,
                cwd=tmp_path,  # from anywhere, not only from the clone
                timeout=120,
            )
            assert done.returncode == 0, done.stderr[-2000:]
            if "--help" in command:
                assert "default" in done.stdout  # --help shows the defaults
            if "tutorials" in command:  # the handout: the notebooks land in the named folder
                folder = tmp_path / command[command.index("tutorials") + 1]
                assert len(list(folder.glob("*.ipynb"))) == 8
                assert line.endswith(f"jupyter lab {folder.name}/")
        elif line.startswith("pip install") and "[test]" in line or "jupyter-book build" in line:
            assert line in ci, f"CI does not run the README's command {line!r}"
        elif line.startswith("pip install") or line.startswith("python3 -m venv"):
            assert line.split("&&")[0].strip() in ci or "[tutorials]" in line
        else:
            assert line == "jupyter lab tutorials/", f"a README command no test covers: {line!r}"
