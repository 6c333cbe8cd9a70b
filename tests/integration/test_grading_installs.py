"""Two installs on one machine grade at the same time without touching each other.

Each install claims its grading uid range in a registry (a temporary one here, as the machine's
/etc/sunaba/uid-ranges would be): a second install with the same range is refused with a
message naming both; with distinct ranges, one submission of each runs in real grading
sandboxes at once, and each sees only its own processes, its own uids and its own limits.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from pathlib import Path

import nbformat
import pytest

from sunaba.config.loader import validate
from sunaba.grading.jobs import Job, SandboxSettings
from sunaba.grading.pool_process import run_in_fresh_process
from sunaba.sandbox.limits import Limits
from sunaba.sandbox.uid_ranges import (
    GRADING_UID_SPAN,
    UidRangeConflict,
    claim_uid_range,
    grading_uid_range,
)
from tests.support.hub import PREFIX

pytestmark = pytest.mark.integration

PROBE = """
import json, os, resource, time
started = time.time()
time.sleep(5)
uids = set()
for entry in os.listdir('/proc'):
    if entry.isdigit():
        try:
            uids.add(os.stat('/proc/' + entry).st_uid)
        except OSError:
            pass
print(json.dumps({
    'uid': os.getuid(),
    'uids': sorted(uids),
    'pids': sorted(int(e) for e in os.listdir('/proc') if e.isdigit()),
    'nproc': resource.getrlimit(resource.RLIMIT_NPROC)[0],
    'cgroup': open('/proc/self/cgroup').read(),
    'window': [started, time.time()],
}))
"""


def _install(root: Path, name: str, base: int | None = None):
    state = root / name / "state"
    state.mkdir(parents=True)
    grading = {} if base is None else {"sandbox_uid_base": base}
    return validate(
        {"hub": {"state_dir": str(state), "prefix": str(PREFIX)}, "grading": grading}, "test"
    )


def _settings(config, scratch: Path, max_processes: int) -> SandboxSettings:
    python = PREFIX / "venv" / "bin"
    return SandboxSettings(
        workers=1,
        cell_timeout=60,
        notebook_timeout=120,
        max_output=1 << 20,
        limits=Limits(768 * 2**20, 1.0, max_processes, 2**30),
        uid_base=config.grading.sandbox_uid_base,
        readonly=(str(PREFIX),),
        env={
            "PATH": f"{python}:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "TMPDIR": "/tmp",
            "IPYTHONDIR": "/tmp/ipython",
            "MPLCONFIGDIR": "/tmp/matplotlib",
            "JUPYTER_RUNTIME_DIR": "/tmp/runtime",
            "PYTHONDONTWRITEBYTECODE": "1",
            "NBGRADER_EXECUTION": "autograde",
        },
        scratch_parent=scratch,
    )


def _probe_job() -> Job:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROBE)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    return Job("probe", {"probe.ipynb": nbformat.writes(notebook).encode()}, ("probe.ipynb",))


def _seen(result) -> dict:
    assert not result.problems, result.problems
    cell = result.executed["probe.ipynb"]["cells"][0]
    parts = [o.get("text", "") for o in cell["outputs"] if o.get("name") == "stdout"]
    text = "".join("".join(p) if isinstance(p, list) else p for p in parts)
    return json.loads(text)


@pytest.fixture
def machine():
    root = Path(tempfile.mkdtemp(prefix="sunaba-test-installs-"))
    root.chmod(0o711)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_two_installs_claim_apart_and_grade_at_once(machine):
    registry = machine / "uid-ranges"
    first = _install(machine, "one", base=3_100_000_000)
    claim_uid_range(first, registry)
    with pytest.raises(UidRangeConflict) as refused:
        claim_uid_range(_install(machine, "two", base=3_100_000_000 + 100), registry)
    assert "grading.sandbox_uid_base" in str(refused.value)
    assert first.hub.state_dir in str(refused.value)
    second = _install(machine, "three", base=3_100_000_000 + GRADING_UID_SPAN)
    claim_uid_range(second, registry)

    installs = {"one": (first, 40), "three": (second, 60)}
    results: dict[str, dict] = {}

    def grade(name: str) -> None:
        config, max_processes = installs[name]
        scratch = machine / name / "grading"
        scratch.mkdir(mode=0o711)
        python = str(PREFIX / "venv" / "bin" / "python")
        settings = _settings(config, scratch, max_processes)
        results[name] = run_in_fresh_process(python, settings, [_probe_job()])["probe"]

    threads = [threading.Thread(target=grade, args=(name,)) for name in installs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    one, three = _seen(results["one"]), _seen(results["three"])

    # Both ran at the same moment.
    assert one["window"][0] < three["window"][1] and three["window"][0] < one["window"][1]
    for seen, (config, max_processes) in ((one, installs["one"]), (three, installs["three"])):
        own = grading_uid_range(config)
        assert seen["uid"] in own
        # Only the sandbox's own processes: its PID 1 (root) and its own grading uids.
        assert set(seen["uids"]) - {0} <= set(own), seen["uids"]
        assert seen["nproc"] == max_processes
    assert set(one["uids"]).isdisjoint(set(three["uids"]) - {0})
    assert one["cgroup"] != three["cgroup"]
