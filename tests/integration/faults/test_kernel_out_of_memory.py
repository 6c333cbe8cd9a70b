"""Drill: one learner's kernel uses up the memory of the learner's sandbox.

Only that kernel dies: the sandbox's memory limit (a cgroup per learner) stops it, not the
machine's. JupyterLab is told over the kernel's channel that it died and is restarting, and
shows that in Japanese (the site's language pack); the learner's server keeps running and the
restarted kernel works; another learner's kernel goes on with its variables; nothing saved is
lost.
"""

from __future__ import annotations

import json
import time

from tests.integration.faults.drills import differences, snapshot, wait_for
from tests.support.hub import PREFIX

HOG = "x = bytearray(4 * 1024**3)\nfor i in range(0, len(x), 4096): x[i] = 1"
MARK = "kept-beside-the-hog"
# What JupyterLab shows when a kernel reports it is restarting, and its Japanese text.
DIED = "The kernel for %1 appears to have died. It will restart automatically."


def japanese(message: str) -> str:
    catalogue = next(
        (PREFIX / "venv" / "lib").glob(
            "python3*/site-packages/jupyterlab_language_pack_ja_JP/locale/ja_JP/"
            "LC_MESSAGES/jupyterlab.json"
        )
    )
    return json.loads(catalogue.read_text(encoding="utf-8"))[message][0]


def test_a_kernel_out_of_memory_dies_alone(world):
    hub = world.hub
    ann, dee = world.learner("ann"), world.learner("dee")
    outcome = hub.run(dee, f"kept = '{MARK}'; print(kept)")
    assert outcome["stdout"].strip() == MARK, outcome
    greedy = hub.start_kernel(ann)
    assert hub.execute(ann, greedy, "1 + 1")["result"] == "2"
    before = snapshot(world)

    started = time.monotonic()
    outcome = hub.execute(ann, greedy, HOG, 120)
    died = time.monotonic()
    # The kernel reports "restarting" on its channel: JupyterLab's dialog, in Japanese.
    assert outcome["status"] == "died", outcome
    assert "カーネルが予期せず終了しました" in japanese(DIED)

    def works_again():
        again = hub.execute(ann, greedy, "6 * 7", 20)
        return again["result"] == "42"

    wait_for(works_again, 90, "the restarted kernel does not answer", hub, every=1)
    back = time.monotonic()
    print(
        f"\nkernel out of memory: died after {died - started:.1f} s, the restarted kernel "
        f"answered {back - died:.1f} s later"
    )
    assert world._running(ann), "the learner's server stopped with the kernel"
    assert hub.run(dee, "print(kept)")["stdout"].strip() == MARK
    assert hub.api("GET", "/").ok
    changes = differences(before, snapshot(world))
    assert all(not any(change.values()) for change in changes.values()), changes
