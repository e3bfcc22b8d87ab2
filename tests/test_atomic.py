"""atomic_write: a target holds its old content or the whole new one, never a mix or a fragment."""

import numpy as np
import pytest
import torch

from minischnet._atomic import atomic_write


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "state.npz"
    with atomic_write(path) as f:
        np.savez(f, x=np.arange(3))
    with pytest.raises(RuntimeError, match="crash"):
        with atomic_write(path) as f:
            np.savez(f, x=np.arange(1000))
            raise RuntimeError("crash while writing")
    with np.load(path) as d:
        np.testing.assert_array_equal(d["x"], np.arange(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.npz"]


def test_interleaved_writers_each_leave_a_whole_file(tmp_path):
    # two processes writing one file at the same moment, here two open writers in one process:
    # each has its own temporary file, and the one that finishes last wins, whole
    path = tmp_path / "checkpoint.pt"
    with atomic_write(path) as first:
        with atomic_write(path) as second:
            torch.save({"w": torch.ones(500)}, second)
            torch.save({"w": torch.zeros(7)}, first)
        assert torch.equal(torch.load(path)["w"], torch.ones(500))
    assert torch.equal(torch.load(path)["w"], torch.zeros(7))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]


def test_text_mode_keeps_csv_line_endings_and_utf8(tmp_path):
    import csv

    path = tmp_path / "curve.csv"
    with atomic_write(path, "w") as f:
        writer = csv.writer(f)
        writer.writerow(["Å", "1"])
    assert path.read_bytes() == "Å,1\r\n".encode()  # csv's own \r\n, not doubled to \r\r\n
    with pytest.raises(ValueError, match="mode"):
        with atomic_write(path, "a"):
            pass


def test_a_write_killed_midway_leaves_a_temporary_that_the_next_write_removes(tmp_path):
    """kill -9 during a write: the target keeps its old content, and the orphaned temporary
    file is removed by the next write of that target (one of a running writer stays)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    target = tmp_path / "checkpoint.pt"
    target.write_bytes(b"old")
    writer = subprocess.Popen(
        [sys.executable, "-c", (
            "import sys, time\n"
            "from minischnet._atomic import atomic_write\n"
            f"with atomic_write({str(target)!r}) as f:\n"
            "    f.write(b'half'); f.flush(); print('writing', flush=True); time.sleep(60)\n"
        )],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert writer.stdout.readline().strip() == "writing"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    orphans = list(tmp_path.glob("checkpoint.pt.*.tmp"))
    assert len(orphans) == 1 and target.read_bytes() == b"old"

    running = tmp_path / f"checkpoint.pt.{os.getpid()}-0000beef.tmp"  # a live writer's
    running.write_bytes(b"")
    time.sleep(0.01)
    with atomic_write(target) as f:
        f.write(b"new")
    assert target.read_bytes() == b"new"
    assert sorted(tmp_path.glob("checkpoint.pt.*.tmp")) == [running]
