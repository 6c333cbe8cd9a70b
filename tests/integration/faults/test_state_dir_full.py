"""Drill: the disk that holds the hub's state dir (its SQLite database, records and logs) fills up
while learners work.

The state dir is a small filesystem of its own (a tmpfs the drill mounts). While it is full,
what the hub must write (a new sign-up) fails; a learner's running server and kernel go on.
Once space is freed, the hub works again without a restart, and its database is whole: SQLite's
integrity check passes and every row written before is still there.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import time

import pytest
import requests

from tests.support.hub import SunabaHub

SIZE = "64m"


def fill(folder) -> int:
    """Write a file until the disk is full; return how many bytes were written."""
    written = 0
    with contextlib.suppress(OSError), open(folder / "filler.bin", "wb", buffering=0) as handle:
        while True:
            written += handle.write(b"\0" * (1 << 20))
    return written


def database_rows(path) -> tuple[str, list[str], int]:
    """(integrity check, user names, size in bytes) of the hub's database."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        check = db.execute("PRAGMA integrity_check").fetchone()[0]
        names = sorted(row[0] for row in db.execute("SELECT name FROM users"))
    return check, names, path.stat().st_size


@pytest.fixture
def state_full_hub():
    if os.geteuid() != 0:
        pytest.fail("this drill mounts a filesystem and creates Unix accounts: run it as root")
    hub = SunabaHub()
    hub.state_dir.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE},mode=0700", "tmpfs", str(hub.state_dir)],
        check=True,
    )
    try:
        hub.start()
        yield hub
    finally:
        hub.stop()
        if subprocess.run(["umount", str(hub.state_dir)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(hub.state_dir)], check=False)
        hub.close()


def test_a_full_state_dir_keeps_the_hub_database_whole(state_full_hub):
    hub = state_full_hub
    ann = hub.new_learner("sfann")
    hub.spawn(ann)
    assert hub.run(ann, "kept = 'before the disk filled'; print(kept)")["status"] == "ok"
    database = hub.state_dir / "jupyterhub.sqlite"
    check, names_before, size_before = database_rows(database)
    assert check == "ok" and "sfann" in names_before

    written = fill(hub.state_dir)
    print(f"\nstate dir full: wrote {written >> 20} MiB")
    try:
        hub.signup("sfbob")
        print("sign-up while full: accepted")
    except requests.HTTPError as error:
        print(f"sign-up while full: refused, HTTP {error.response.status_code}")
    outcome = hub.run(ann, "print(kept)")
    assert outcome["stdout"].strip() == "before the disk filled", outcome
    check, names, size = database_rows(database)
    assert check == "ok" and set(names_before) <= set(names) and size >= size_before

    (hub.state_dir / "filler.bin").unlink()
    started = time.monotonic()
    cat = hub.new_learner("sfcat")
    hub.spawn(cat)
    print(
        f"after freeing space: a new learner signed up and started in "
        f"{time.monotonic() - started:.1f} s"
    )
    assert hub.run(ann, "print(kept)")["stdout"].strip() == "before the disk filled"
    check, names, _ = database_rows(database)
    assert check == "ok" and set(names_before) | {"sfcat"} <= set(names), names
