"""The publish-time check on Kubernetes: receive a snapshot on stdin, run it headless, answer.

The only program of a check pod (`python -I -m sunaba.showcase.sandboxed.check_in_pod FOLDER`),
made from the app pods' template: the learners' security context, the app's limits, no service
account token and no network. The showcase service attaches to it (pods/attach) and writes one
JSON line, `{"files": {RELATIVE_PATH: BASE64}, "notebook": NAME, "timeout": SECONDS}`; this
writes the files under FOLDER (an emptyDir), runs the notebook top to bottom as
`headless_check` does on one machine, and prints its one JSON result as the last line of stdout.
The pod is deleted afterwards: nothing the notebook did there survives.

Unlike the scripts the service passes as `-c SOURCE`, this runs only in a pod, as a module of
the image's own Sunaba, so it shares `headless_check` and `receive_snapshot` instead of copying.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sunaba.showcase.sandboxed.headless_check import check, failure
from sunaba.showcase.sandboxed.receive_snapshot import MAX_LINE, safe_relative, write_files


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        raise SystemExit("usage: check_in_pod FOLDER")
    folder = Path(argv[1])
    try:
        message = json.loads(sys.stdin.buffer.readline(MAX_LINE))
        write_files(folder, message["files"])
        notebook = safe_relative(str(message["notebook"]))
        timeout = int(message["timeout"])
        if notebook is None:
            raise ValueError(f"bad notebook name: {message['notebook']!r}")
    except (ValueError, KeyError, TypeError, OSError) as exc:
        print(json.dumps(failure("invalid", None, None, ename=type(exc).__name__, evalue=exc)))
        return 2
    result = check(folder.joinpath(*notebook.parts), timeout)
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
