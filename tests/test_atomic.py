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
