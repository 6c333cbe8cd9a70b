"""Drill: a learner fills their home's disk from their kernel, then saves a notebook.

The homes live on a small filesystem of their own (a tmpfs the drill mounts), both learners'
on the same one: the second learner's disk is full too, as on a machine whose /home is full.
The save fails with HTTP 507 and a Japanese message naming the problem and what to do (delete
files), which JupyterLab shows in its 「保存エラー」 dialog; the notebook on disk is the previous,
complete, valid version; the other learner's saved files are intact. Once the big file is
deleted, the same save succeeds.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
import requests

from tests.integration.faults.drills import fingerprint
from tests.support.hub import SunabaHub

SIZE = "96m"
FILL = """
import os
written = 0
try:
    with open("big.bin", "wb", buffering=0) as handle:
        while True:
            written += handle.write(b"\\0" * (1 << 20))
except OSError as error:
    print(error.errno, written)
"""


@pytest.fixture
def small_home_root():
    if os.geteuid() != 0:
        pytest.fail("this drill mounts a filesystem and creates Unix accounts: run it as root")
    root = Path(tempfile.mkdtemp(prefix="sunaba-test-homefull-", dir="/tmp"))
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE},mode=0755", "tmpfs", str(root)], check=True
    )
    try:
        yield root
    finally:
        if subprocess.run(["umount", str(root)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(root)], check=False)
        with contextlib.suppress(OSError):
            root.rmdir()


@pytest.fixture
def full_hub(small_home_root):
    hub = SunabaHub(extra={"sandbox": {"home_root": str(small_home_root)}})
    hub.home_root = small_home_root
    try:
        hub.start()
        yield hub
    finally:
        hub.close()


def notebook(text: str) -> dict:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(text)])


def save(hub: SunabaHub, learner, path: str, nb: dict) -> requests.Response:
    """PUT the notebook through the contents API, as JupyterLab's save does."""
    return requests.put(
        f"{hub.url}/user/{learner.name}/api/contents/{path}",
        headers={"Authorization": f"token {learner.token}"},
        json={"type": "notebook", "format": "json", "content": nb},
        timeout=60,
    )


def on_disk(hub: SunabaHub, learner, path: str) -> tuple[str, dict]:
    """The notebook's checksum, and the notebook read back and validated."""
    data = (hub.home_of(learner) / path).read_bytes()
    nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    nbformat.validate(nb)
    return hashlib.sha256(data).hexdigest(), nb


def test_a_full_home_refuses_a_save_in_japanese_and_keeps_the_notebook(full_hub):
    hub = full_hub
    ann, ben = hub.new_learner("hfann"), hub.new_learner("hfben")
    for learner in (ann, ben):
        hub.spawn(learner)
    assert save(hub, ben, "ben.ipynb", notebook("print('ben')")).status_code in (200, 201)
    assert save(hub, ann, "work.ipynb", notebook("x = 1")).status_code in (200, 201)
    ben_before = fingerprint(hub.home_of(ben), visible_only=True)
    digest, _ = on_disk(hub, ann, "work.ipynb")

    filled = hub.run(ann, FILL, timeout=120)
    assert filled["stdout"].split()[0] == "28", filled  # ENOSPC
    print(f"\nhome full: the kernel wrote {int(filled['stdout'].split()[1]) >> 20} MiB")

    started = time.monotonic()
    refused = save(hub, ann, "work.ipynb", notebook("x = 2\n" + "y = 3\n" * 2000))
    took = time.monotonic() - started
    assert refused.status_code == 507, refused.text
    message = refused.json()["message"]
    print(f"refused in {took:.2f} s: {message}")
    assert "ディスクの空き容量がない" in message and "削除" in message, message
    assert "「work.ipynb」" in message and "Errno" not in message, message
    assert on_disk(hub, ann, "work.ipynb")[0] == digest, "the previous notebook changed"
    assert not list(hub.home_of(ann).glob(".~*")), "a temporary file was left behind"
    assert fingerprint(hub.home_of(ben), visible_only=True) == ben_before
    # The other learner's home is on the same disk: their save is refused the same way.
    theirs = save(hub, ben, "ben.ipynb", notebook("print('ben, later')"))
    assert theirs.status_code == 507 and "削除" in theirs.json()["message"], theirs.text
    assert fingerprint(hub.home_of(ben), visible_only=True) == ben_before

    removed = hub.run(ann, "import os; os.remove('big.bin'); print('removed')")
    # IPython's history database is in the home too: it says it stopped writing.
    assert "removed" in removed["stdout"].splitlines(), removed
    again = save(hub, ann, "work.ipynb", notebook("x = 2\n" + "y = 3\n" * 2000))
    assert again.status_code == 200, again.text
    assert on_disk(hub, ann, "work.ipynb")[1].cells[0].source.startswith("x = 2")
    assert fingerprint(hub.home_of(ben), visible_only=True) == ben_before
