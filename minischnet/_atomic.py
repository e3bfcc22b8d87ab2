"""Writing a file so that no reader, and no crash, ever sees half of it.

Every file that a long job rewrites while it runs (checkpoints, the QM9 cache, the learning-curve
CSV, data-set chunks, RPMD states) goes through ``atomic_write``: the bytes go to a temporary file
beside the target, and only a finished file is renamed onto it. A process killed while writing
(kill -9, a power cut) leaves its temporary file behind; the next write of the same target
removes it.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_write(path, mode: str = "wb"):
    """Open a temporary file beside ``path``; when the block ends without error, rename it onto
    ``path``.

    ``os.replace`` is a single step, so ``path`` holds either its old content or the whole new
    one. The temporary name carries the process id and a random part, so several processes
    writing the same file at once (two learning-curve runners building the QM9 cache) never
    write into one temporary file: the last rename wins and every version is whole. On an error
    the temporary file is removed and ``path`` is left as it was. ``mode`` is "wb" (np.savez,
    torch.save) or "w" (text, UTF-8, newlines as written, as the csv module wants).
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', got {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    # ends in .tmp, not in the target's suffix: a reader globbing *.npz or *.json never picks it up
    tmp = path.with_name(f"{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    text = {} if mode == "wb" else {"encoding": "utf-8", "newline": ""}
    try:
        with open(tmp, mode, **text) as f:
            yield f
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # only still there when the block failed


def remove_stale_temporaries(path) -> list[Path]:
    """Remove the temporary files of ``path`` left by writers that no longer run (killed while
    writing); those of running processes stay. Returns what was removed."""
    path = Path(path)
    removed = []
    for tmp in path.parent.glob(f"{glob_escape(path.name)}.*-*.tmp"):
        pid = tmp.name[len(path.name) + 1 :].split("-")[0]
        if pid.isdigit() and not _running(int(pid)):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def glob_escape(name: str) -> str:
    """``name`` with glob's special characters taken literally."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True
