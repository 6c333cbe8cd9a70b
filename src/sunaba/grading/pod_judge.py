"""The program a grading pod's judge container runs: `python -m sunaba.grading.pod_judge`.

On one machine the judge beside each grading sandbox is a process of the grader account in a
filesystem view of its own (`sunaba.grading.judging`). In a grading pod it is a container of its
own, beside the learner's (`sunaba.deploy.k8s_judge`):

- as another uid than the learner's container, without the learner's volumes: the learner's
  code can neither see its processes nor read its files;
- the only container the course's graders reach: the hub sends them on this container's stdin
  (the pods/attach API) and they are written into its own /tmp, which only it mounts;
- listening on a socket in a volume both containers mount, read-only in the learner's: the
  kernel connects (`sunaba.checks.judge_service.ask`, to `SUNABA_JUDGE_SOCKET`) but can neither
  replace the socket nor read anything there; only the kernel's uid is answered (SO_PEERCRED);
- every verdict recorded, stamped with CLOCK_MONOTONIC (one clock for the whole node, so it
  compares with the executor's cell windows in the other container), before it is answered.

The judging itself is the local judge's (`sunaba.checks.judge_service.serve`, stopped and read
back by `sunaba.grading.judging.Judge`). Protocol on stdin/stdout, one JSON line each:
hub → `{"course", "assignment", "graders": {path: base64}}`; judge → `{"ready": true}` once
the socket listens; hub → any line (the learner's container is done); judge →
`{"verdicts": [{"t", "question", "ok", "message"}, ...]}`, then it exits.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import json
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path

from sunaba.checks.judge_service import SOCKET_ENV, serve
from sunaba.deploy.k8s_judge import KERNEL_UID_ENV
from sunaba.grading.inpod import write_files
from sunaba.grading.judging import Judge
from sunaba.sandbox.enter import close_all_but

# Imported before the hub hears that the judge is ready, so that the first check of a cell is
# answered at once rather than after seconds of imports (the cell's time limit runs meanwhile).
PRELOAD = ("numpy", "pandas", "pyarrow", "sunaba.checks.grader", "sunaba.checks.wire")


def preload() -> None:
    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def _write_line(out: int, value: dict) -> None:
    data = (json.dumps(value, ensure_ascii=False) + "\n").encode("utf-8")
    while data:
        data = data[os.write(out, data) :]


def start(job: dict, scratch: Path) -> Judge:
    """Graders into this container's private scratch, the socket bound, the judge forked."""
    graders_root = scratch / "graders"
    graders_root.mkdir(mode=0o700)
    files = {name: base64.b64decode(data) for name, data in job["graders"].items()}
    write_files(graders_root, files)
    path = os.environ[SOCKET_ENV]
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    # The learner's uid must be able to connect; who is answered is checked per connection.
    os.chmod(path, 0o666)  # noqa: S103
    listener.listen(8)
    record = scratch / "verdicts.jsonl"
    record_fd = os.open(record, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
    kernel_uid = int(os.environ[KERNEL_UID_ENV])
    pid = os.fork()
    if pid == 0:
        try:
            # Nothing of the hub's streams: the verdicts leave only through the record.
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            close_all_but(sorted([listener.fileno(), record_fd]))
            serve(
                listener,
                record_fd,
                kernel_uid=kernel_uid,
                graders_root=str(graders_root),
                course=str(job["course"]),
                assignment=str(job["assignment"]),
            )
        finally:
            os._exit(70)
    listener.close()
    os.close(record_fd)
    return Judge(os.path.dirname(path), pid, record)


def main() -> int:
    out = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    os.close(null)
    preload()
    scratch = Path(tempfile.mkdtemp(prefix="sunaba-judge-", dir=os.environ.get("TMPDIR")))
    try:
        job = json.loads(sys.stdin.buffer.readline())
        judge = start(job, scratch)
    except (ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        _write_line(out, {"error": f"{type(exc).__name__}: {exc}"})
        shutil.rmtree(scratch, ignore_errors=True)
        return 2
    _write_line(out, {"ready": True})
    sys.stdin.buffer.readline()  # the learner's container is done (or the hub went away)
    verdicts = judge.stop()
    shutil.rmtree(scratch, ignore_errors=True)
    _write_line(out, {"verdicts": verdicts})
    return 0


if __name__ == "__main__":
    sys.exit(main())
