"""Receive an app's snapshot on stdin and write it into the pod's snapshot volume.

The init step of an app pod on Kubernetes (`python -I -m sunaba.showcase.sandboxed.receive_snapshot
FOLDER`). The showcase service attaches to this container (pods/attach) and writes one JSON line,
`{"files": {RELATIVE_PATH: BASE64}}`; this writes the files under FOLDER and prints
`{"ok": true, "files": N}`, or `{"ok": false, "error": …}` and exits 2. The Voilà container then
mounts the same volume read-only: the app never gets write access to its snapshot, and the pod
never sees the showcase's store at all.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from pathlib import Path, PurePosixPath

MAX_LINE = 1 << 31


def safe_relative(name: str) -> PurePosixPath | None:
    """The name as a path inside the folder, or None if it could leave it."""
    path = PurePosixPath(name)
    if not name or "\\" in name or "\x00" in name or path.is_absolute():
        return None
    if any(part in ("", ".", "..") for part in name.split("/")):
        return None
    return path


def write_files(folder: Path, files: dict) -> int:
    for name, data in files.items():
        relative = safe_relative(name) if isinstance(name, str) else None
        if relative is None or not isinstance(data, str):
            raise ValueError(f"bad file name: {name!r}")
        target = folder.joinpath(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(base64.b64decode(data, validate=True))
        os.chmod(target, 0o444)
    return len(files)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        raise SystemExit("usage: receive_snapshot FOLDER")
    folder = Path(argv[1])
    try:
        line = sys.stdin.buffer.readline(MAX_LINE)
        message = json.loads(line)
        count = write_files(folder, message["files"])
    except (ValueError, KeyError, TypeError, OSError) as exc:
        print(json.dumps({"ok": False, "error": str(exc)[:500]}), flush=True)
        return 2
    print(json.dumps({"ok": True, "files": count}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
