"""Atomic file writes: readers see the old file or the new one, never half of one.

The new content goes to a temporary file beside the target (same filesystem, so `os.replace`
is atomic), gets its mode before the rename (a secret never appears readable, even for a
moment), and the temporary file is removed if anything fails. Directories and ownership stay
with the caller."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _as_bytes(data: bytes | str) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else data


def write_atomic(path: Path, data: bytes | str, *, mode: int = 0o644, fsync: bool = False) -> None:
    """Replace `path` with `data` (text as UTF-8) and `mode`; the parent must exist."""
    path = Path(path)
    # A name of its own: several processes or threads may write the same target at once.
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(_as_bytes(data))
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        # Set explicitly, not through the umask: the caller's mode is the one the file gets.
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_if_changed(path: Path, data: bytes | str, *, mode: int = 0o644) -> bool:
    """Write like `write_atomic` unless `path` already holds exactly `data` (the mode of an
    unchanged file is left as it is); return True when it wrote."""
    path = Path(path)
    content = _as_bytes(data)
    if path.is_file() and path.read_bytes() == content:
        return False
    write_atomic(path, content, mode=mode)
    return True
