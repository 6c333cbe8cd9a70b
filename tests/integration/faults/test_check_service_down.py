"""Drill: the check service dies during a class. A learner's `check` says in Japanese that
checking is briefly unavailable (no traceback), and works again in the same kernel once the hub
has restarted the service; nothing the learners keep changes."""

from __future__ import annotations

import textwrap

from tests.integration.faults.conftest import GRADED_ASSIGNMENT, GRADED_COURSE
from tests.integration.faults.drills import (
    differences,
    hub_service_port,
    kill_service,
    snapshot,
    wait_for_restart,
)
from tests.support.checks import SECRET_NUMBER, run_in_kernel

MODULE = "sunaba.checks.service"


def shown(world, learner, code: str) -> list[str]:
    """What `code` displays in the learner's kernel, one entry per output."""
    body = textwrap.indent(textwrap.dedent(code).strip(), "    ")
    program = (
        "from IPython.utils.capture import capture_output\n"
        f"with capture_output() as shown:\n{body}\n"
        "for output in shown.outputs:\n"
        "    print('----')\n"
        "    print(output.data['text/plain'])\n"
        "print('stderr:', repr(shown.stderr))\n"
    )
    outcome = run_in_kernel(world.hub, learner, program)
    assert outcome["status"] == "ok", outcome
    assert "Traceback" not in outcome["stdout"], outcome["stdout"]
    assert "stderr: ''" in outcome["stdout"], outcome["stdout"]
    return outcome["stdout"].split("----\n")[1:]


def test_check_says_briefly_unavailable_and_recovers_without_restart(world):
    hub = world.hub
    ann = world.learner("ann")
    first = shown(
        world,
        ann,
        f"""
        from sunaba.checks import check, set_exercise
        set_exercise("{GRADED_COURSE}", "{GRADED_ASSIGNMENT}")
        kept = "{GRADED_COURSE}-state"
        check("q1", {SECRET_NUMBER})
        """,
    )
    assert first[0].startswith("✓ q1: 正解です"), first
    before = snapshot(world)
    port = hub_service_port(hub, "sunaba-checks")

    old = kill_service(hub, MODULE)
    down = shown(world, ann, f'check("q1", {SECRET_NUMBER})')
    assert len(down) == 1, down
    assert down[0].startswith("⚠ q1: 確かめられませんでした"), down
    assert "一時的に使えません" in down[0] and "もう一度" in down[0], down

    wait_for_restart(hub, MODULE, old, port)
    assert f"Service sunaba-checks exited with status -{9}" in hub.log_text()
    again = shown(world, ann, f'check("q1", {SECRET_NUMBER})')
    assert again[0].startswith("✓ q1: 正解です"), again
    # The same kernel: what the learner had defined is still there.
    outcome = run_in_kernel(hub, ann, "print(kept)")
    assert outcome["stdout"].strip() == f"{GRADED_COURSE}-state", outcome

    changes = differences(before, snapshot(world))
    assert all(not any(change.values()) for change in changes.values()), changes
