"""Helpers for the grading-pod tests: demo submissions, the job the hub sends, and the in-pod
program (`python -m sunaba.grading.inpod`) run as a local process, as a container would run it.

When the tests run as root, the program runs as `nobody` (no capabilities, like the pod's uid
1000): what keeps learners' code away from the results must hold for an unprivileged user."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import pwd
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import psutil

import sunaba
from sunaba.config.loader import validate

ANSWER, TEST = 1, 2  # the answer and test cells of `demo_notebook`
NOTEBOOK = "hw1.ipynb"
PREFIX = str(Path(sys.executable).parents[2])  # <prefix>/venv/bin/python, as in the image
ANSWER_42 = "def answer():\n    return 42\n"
TEST_CELL = "assert answer() == 42\nprint('TEST passed')\n"
# Code that the learner appends to the answer cell; every one of them defines answer() first.
HOSTILE = {
    "looper": ANSWER_42 + "while True:\n    pass\n",
    "hog": ANSWER_42 + "hog = bytearray(8 * 1024**3)\n",
    "flooder": ANSWER_42
    + "import sys\nfor _ in range(10**6):\n    sys.stdout.write('x' * 10**5)\n",
    "exiter": ANSWER_42 + "import os\nos._exit(3)\n",
}
# Tries to reach the descriptors and memory of the processes that record its results.
FORGER = ANSWER_42 + (
    "import os\n"
    "me, parent = os.getpid(), os.getppid()\n"
    "def ppid(pid):\n"
    "    try:\n"
    "        return int(open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()[1])\n"
    "    except (OSError, ValueError, IndexError):\n"
    "        return None\n"
    "family = [parent] + [int(p) for p in os.listdir('/proc') if p.isdigit() and int(p) != me\n"
    "                     and ppid(int(p)) == parent]\n"
    "opened = []\n"
    "for pid in family:\n"
    "    for fd in range(0, 16):\n"
    "        try:\n"
    "            os.close(os.open(f'/proc/{pid}/fd/{fd}', os.O_WRONLY))\n"
    "            opened.append((pid, fd))\n"
    "        except OSError:\n"
    "            pass\n"
    "    try:\n"
    "        open(f'/proc/{pid}/mem', 'rb').close()\n"
    "        opened.append((pid, 'mem'))\n"
    "    except OSError:\n"
    "        pass\n"
    "print('FORGE', 'open' if opened else 'denied', len(family))\n"
)
# Leaves a daemon behind (double fork, new session) that records its pid.
DETACHER = ANSWER_42 + (
    "import os, time\n"
    "if os.fork() == 0:\n"
    "    os.setsid()\n"
    "    if os.fork() == 0:\n"
    "        open('daemon.pid', 'w').write(str(os.getpid()))\n"
    "        time.sleep(3600)\n"
    "    os._exit(0)\n"
    "os.wait()\n"
    "time.sleep(0.5)\n"
    "print('DAEMON', open('daemon.pid').read())\n"
)


def demo_notebook(answer: str) -> bytes:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# 練習"),
        nbformat.v4.new_code_cell(answer),
        nbformat.v4.new_code_cell(TEST_CELL),
    ]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    return nbformat.writes(notebook).encode("utf-8")


def job_settings(cell_timeout=3, notebook_timeout=40, max_output=64 * 1024) -> dict:
    """What `sunaba.grading.pods` sends, with short limits (the same keys it fills in)."""
    return {
        "cell_timeout": cell_timeout,
        "notebook_timeout": notebook_timeout,
        "max_output": max_output,
        "max_file_bytes": 64 << 20,
        "env": {
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "NBGRADER_EXECUTION": "autograde",
        },
    }


def pod_site(graders: Path | None = None, **grading):
    """A site that grades in pods with short limits, as the pod backend tests need."""
    settings = {
        "hub": {"prefix": PREFIX},
        "deploy": {"k8s": {"grader_memory": "900M", "grader_cpu": 1}},
        "grading": {
            "backend": "kubernetes",
            "workers": 3,
            "cell_timeout": 3,
            "notebook_timeout": 40,
            "max_output": "64K",
            **grading,
        },
    }
    if graders is not None:
        settings["checks"] = {"graders": str(graders)}
    return validate(settings, "test")


def job_line(notebooks: dict[str, bytes], settings: dict | None = None) -> bytes:
    job = {
        "settings": settings or job_settings(),
        "files": {n: base64.b64encode(d).decode("ascii") for n, d in notebooks.items()},
        "notebooks": sorted(notebooks),
        "graders": {},
    }
    return (json.dumps(job) + "\n").encode("utf-8")


def container_env(tmp: Path) -> dict[str, str]:
    """What the grading PodTemplate gives the container, with the pod's /tmp at `tmp`; the
    imported Sunaba is the one the program runs."""
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(tmp),
        "TMPDIR": str(tmp),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": str(Path(sunaba.__file__).resolve().parents[1]),
    }


def unprivileged() -> pwd.struct_passwd | None:
    return pwd.getpwnam("nobody") if os.geteuid() == 0 else None


def scratch_dir() -> Path:
    """A pod's /tmp: private, owned by the user the program runs as."""
    path = Path(tempfile.mkdtemp(prefix="sunaba-pod-test-"))
    account = unprivileged()
    if account is not None:
        os.chown(path, account.pw_uid, account.pw_gid)
    return path


def remove_scratch(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def container_preexec(memory_rlimit: int | None = None):
    """For `preexec_fn`: the container's user, and (for the tests only) an address-space limit
    standing in for the pod's memory limit."""
    account = unprivileged()

    def start():
        if memory_rlimit is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory_rlimit, memory_rlimit))
        if account is not None:
            os.setgroups([])
            os.setgid(account.pw_gid)
            os.setuid(account.pw_uid)

    return start


def run_inpod(line: bytes, *, memory_rlimit: int | None = None, timeout: float = 300):
    """Run the in-pod program on one job; (result lines, exit code). Its /tmp is removed."""
    tmp = scratch_dir()
    process = subprocess.Popen(
        [sys.executable, "-m", "sunaba.grading.inpod"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=container_env(tmp),
        cwd=tmp,
        preexec_fn=container_preexec(memory_rlimit),
    )
    try:
        stdout, _ = process.communicate(line, timeout=timeout)
        leftovers = sorted(p.name for p in tmp.iterdir())
    finally:
        kill_pod_processes(process.pid, tmp)  # only if something was left running
        process.wait()
        remove_scratch(tmp)
    lines = [json.loads(raw) for raw in stdout.splitlines() if raw.strip()]
    return lines, process.returncode, leftovers


def pod_processes(pid: int, tmp: Path) -> list[psutil.Process]:
    """A process this test started as a pod's program, everything below it, and whatever was
    orphaned from it: a kernel calls setsid (a process group misses it) and outlives a killed
    parent; every one of them was started with the pod's /tmp (`tmp`) in its environment."""
    found = {}
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        found = {p.pid: p for p in [root, *root.children(recursive=True)]}
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if str(tmp) in "".join(process.environ().values()):
                found.setdefault(process.pid, process)
    return list(found.values())


def kill_pod_processes(pid: int, tmp: Path) -> None:
    for process in pod_processes(pid, tmp):
        with contextlib.suppress(psutil.Error):
            process.kill()


def outputs(notebook: dict, index: int) -> list[dict]:
    return notebook["cells"][index]["outputs"]


def error_names(notebook: dict, index: int) -> list[str]:
    return [o["ename"] for o in outputs(notebook, index) if o["output_type"] == "error"]


def text_of(notebook: dict, index: int) -> str:
    parts = []
    for output in outputs(notebook, index):
        if output["output_type"] == "stream":
            text = output["text"]  # a list of lines as nbformat writes it
            parts.append("".join(text) if isinstance(text, list) else text)
        elif output["output_type"] == "error":
            parts.append(output["evalue"])
    return "".join(parts)


def alive(pid: int) -> bool:
    with contextlib.suppress(OSError):
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    return False
