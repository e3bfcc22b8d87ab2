"""Data-parallel training under torchrun (2 processes, gloo): same weights everywhere, same as
1 process."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

HERE = Path(__file__).parent


@pytest.mark.slow
def test_two_processes_end_with_identical_weights(tmp_path):
    env = dict(
        os.environ,
        PYTHONPATH=f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        OMP_NUM_THREADS="1",
    )
    run = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        str(HERE / "ddp_worker.py"),
        str(tmp_path),
        "distributed",
    ]
    result = subprocess.run(run, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    subprocess.run(
        [sys.executable, str(HERE / "ddp_worker.py"), str(tmp_path), "single"],
        env=env,
        check=True,
        timeout=120,
    )
    rank0, rank1 = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    single = torch.load(tmp_path / "rank0_single.pt")
    for name in rank0:
        torch.testing.assert_close(rank0[name], rank1[name], rtol=0, atol=0, msg=name)
        # Two half-batches with averaged gradients are one whole batch (up to summation order).
        torch.testing.assert_close(rank0[name], single[name], rtol=1e-9, atol=1e-11, msg=name)
    initial = __import__("test_train").student(seed=0).state_dict()
    assert any((rank0[n] - initial[n]).abs().max() > 1e-4 for n in rank0 if n in initial)
