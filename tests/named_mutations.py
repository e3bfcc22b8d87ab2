"""The mistakes a student or a refactoring would make, each applied to a copy of the repository:
the fast tests must fail for every one.

    python tests/named_mutations.py            # all of them, about 2 minutes
    python tests/named_mutations.py skin       # those whose name contains "skin"

Prints CAUGHT (and the first failing test) or MISSED for each; exits 1 if any was missed.
``mutmut run`` (pyproject.toml) does the same for every small change it can make.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SRC = Path(__file__).resolve().parents[1]
MUTATIONS = {
    "cfconv sums x_i instead of x_j (reference and PyTorch)": [
        (
            "minischnet/reference.py",
            "scatter_add(h[idx_j] * W, idx_i",
            "scatter_add(h[idx_i] * W, idx_i",
        ),
        (
            "minischnet/nn/schnet.py",
            "h.index_select(0, idx_j) * W, idx_i",
            "h.index_select(0, idx_i) * W, idx_i",
        ),
        (
            "minischnet/nn/schnet.py",
            "y.index_add_(0, idx_j, h.index_select(0, idx_i) * W)",
            "y.index_add_(0, idx_j, h.index_select(0, idx_j) * W)",
        ),
    ],
    "Verlet skin rebuild loosened fourfold": [
        ("minischnet/calculator.py", "moved < self.skin / 2", "moved < 2 * self.skin")
    ],
    "force sign flipped": [("minischnet/nn/base.py", "return E, -dE_dR", "return E, dE_dR")],
    "hard cutoff instead of cosine (both)": [
        (
            "minischnet/reference.py",
            "np.where(d < cutoff, 0.5 * (np.cos(np.pi * d / cutoff) + 1.0), 0.0)",
            "np.where(d < cutoff, 1.0, 0.0)",
        ),
        (
            "minischnet/nn/layers.py",
            "torch.where(d < cutoff, inside, torch.zeros_like(d))",
            "torch.where(d < cutoff, torch.ones_like(d), torch.zeros_like(d))",
        ),
    ],
    "normal-mode frequencies off by one": [
        (
            "minischnet/md.py",
            "np.sin(np.arange(P) * np.pi / P)",
            "np.sin((np.arange(P) + 1) * np.pi / P)",
        )
    ],
    "force term missing from loss (6)": [
        (
            "minischnet/train/loss.py",
            "return rho * energy_term + force_term / batch.n_atoms.to(E.dtype)",
            "return rho * energy_term",
        )
    ],
    "PILE noise coefficient wrong": [
        ("minischnet/md.py", "self.c2 = np.sqrt(1 - self.c1**2)", "self.c2 = np.sqrt(1 - self.c1)")
    ],
}
only = sys.argv[1:]
missed = 0
for name, edits in MUTATIONS.items():
    if only and not any(o in name for o in only):
        continue
    work = Path(tempfile.mkdtemp(prefix="mutant-")) / "repo"
    shutil.copytree(
        SRC,
        work,
        ignore=shutil.ignore_patterns(".venv", ".git", "book", "_build", "*.ipynb", "mutants"),
    )
    for f, a, b in edits:
        p = work / f
        s = p.read_text()
        assert a in s, (name, a)
        p.write_text(s.replace(a, b))
    env = dict(os.environ, TQDM_DISABLE="1", OMP_NUM_THREADS="1", PYTHONPATH=str(work))
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-x",
            "-m",
            "not slow and not artifacts",
            "-p",
            "no:nbval",
            "-p",
            "no:cacheprovider",
            "tests",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    failed = [line for line in r.stdout.splitlines() if line.startswith("FAILED")]
    missed += r.returncode == 0
    result = failed[0] if failed else r.stdout.splitlines()[-1]
    print(f"{'CAUGHT' if r.returncode else 'MISSED'}: {name}: {result}", flush=True)
    shutil.rmtree(work.parent, ignore_errors=True)
sys.exit(1 if missed else 0)
