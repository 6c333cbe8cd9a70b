"""The program a grading pod runs (`python -m sunaba.grading.inpod`), run for real as a local
process, the way the container runs it: the job on stdin, the executed notebooks on stdout.

No Kubernetes cluster runs here. What the pod itself enforces (memory limit, no network,
read-only root) is the cluster's; here an address-space rlimit stands in for the memory limit,
so a memory hog meets a MemoryError instead of the pod's OOM kill (that case is
tests/integration/grading/test_pod_backend.py, with a fake API server reporting OOMKilled).
As root the program runs as `nobody`, unprivileged like the pod's uid.
"""

from __future__ import annotations

import json

import pytest

from sunaba.grading.execute import KERNEL_DIED, NOT_RUN_AFTER_DEATH, OUTPUT_CAPPED, TIMEOUT
from tests.support.pod_grading import (
    ANSWER_42,
    DETACHER,
    FORGER,
    HOSTILE,
    alive,
    demo_notebook,
    error_names,
    job_line,
    job_settings,
    run_inpod,
    text_of,
)

ANSWER, TEST = 1, 2  # cell indexes in the demo notebook
MEMORY_RLIMIT = 4 << 30


@pytest.fixture(scope="module")
def executed():
    """One job with every demo submission as a notebook of its own, run in order."""
    notebooks = {
        "honest.ipynb": demo_notebook(ANSWER_42),
        "wrong.ipynb": demo_notebook("def answer():\n    return 41\n"),
        "forger.ipynb": demo_notebook(FORGER),
        "detacher.ipynb": demo_notebook(DETACHER),
        **{f"{name}.ipynb": demo_notebook(source) for name, source in HOSTILE.items()},
    }
    lines, code, leftovers = run_inpod(job_line(notebooks), memory_rlimit=MEMORY_RLIMIT)
    assert code == 0
    assert leftovers == []  # the job's scratch directory went with the job
    results = {line["name"]: line["notebook"] for line in lines}
    assert sorted(results) == sorted(notebooks)
    return results


def test_honest_submissions_are_run_as_written(executed):
    assert text_of(executed["honest.ipynb"], TEST) == "TEST passed\n"
    assert error_names(executed["honest.ipynb"], TEST) == []
    assert error_names(executed["wrong.ipynb"], TEST) == ["AssertionError"]


def test_an_endless_loop_is_interrupted_at_the_cell_limit(executed):
    notebook = executed["looper.ipynb"]
    assert TIMEOUT.format(seconds=3) in text_of(notebook, ANSWER)
    assert text_of(notebook, TEST) == "TEST passed\n"  # the kernel lives on


def test_a_memory_hog_fails_its_own_cell_only(executed):
    notebook = executed["hog.ipynb"]
    assert error_names(notebook, ANSWER) == ["MemoryError"]
    assert text_of(notebook, TEST) == "TEST passed\n"


def test_an_output_flood_is_capped_with_a_note(executed):
    notebook = executed["flooder.ipynb"]
    text = text_of(notebook, ANSWER)
    # The kernel itself drops what a cell prints past a quarter of the notebook's budget.
    assert OUTPUT_CAPPED.format(limit="16 KB") in text
    assert len(text) < 2 * 64 * 1024
    assert text_of(notebook, TEST) == "TEST passed\n"


def test_os_exit_is_a_dead_kernel_in_japanese(executed):
    notebook = executed["exiter.ipynb"]
    assert error_names(notebook, ANSWER) == ["KernelDied"]
    assert text_of(notebook, ANSWER) == KERNEL_DIED
    assert text_of(notebook, TEST) == NOT_RUN_AFTER_DEATH


def test_the_kernel_cannot_reach_what_records_its_results(executed):
    # The same uid, but the program and its executors are not dumpable.
    assert text_of(executed["forger.ipynb"], ANSWER).startswith("FORGE denied")


def test_nothing_a_submission_started_outlives_its_notebook(executed):
    text = text_of(executed["detacher.ipynb"], ANSWER)
    assert text.startswith("DAEMON ")
    assert not alive(int(text.split()[1]))
    assert text_of(executed["detacher.ipynb"], TEST) == "TEST passed\n"


def test_a_broken_job_is_reported_not_run():
    lines, code, _ = run_inpod(b"{not json\n")
    assert code == 2
    assert "error" in lines[0]


def test_a_notebook_past_its_total_time_has_its_cells_failed():
    source = "import time\ntime.sleep(2.5)\n"
    settings = job_settings(cell_timeout=3, notebook_timeout=5)
    nb = json.loads(demo_notebook(ANSWER_42))
    nb["cells"] = (
        nb["cells"][:2]
        + [{**nb["cells"][1], "id": f"slow{i}", "source": source} for i in range(4)]
        + nb["cells"][2:]
    )
    lines, code, _ = run_inpod(job_line({"slow.ipynb": json.dumps(nb).encode()}, settings))
    assert code == 0
    executed = lines[0]["notebook"]
    assert "NotebookTimeout" in error_names(executed, len(executed["cells"]) - 1)
    assert "ノートブック全体の制限時間（5秒）" in text_of(executed, len(executed["cells"]) - 1)
