"""Benchmark: Sunaba's sandboxed parallel autograder against stock `nbgrader autograde`, on the
same 100 submissions of the demo course's first assignment (「自治体の CSV を正しく読む」).

Run with `python benchmarks/bench_grading.py [submissions]` as root. The demo course is synced
into a scratch state (a real grader account and gradebook, no hub needed); the submissions are
a realistic mix made from the released notebook: 60 correct, 30 partly wrong, 10 hostile (an
endless loop, a kernel that kills itself, a notebook that deletes its own files). Hostile
submissions that would hurt the machine without a sandbox (memory or fork bombs) are left out,
because stock runs them too.

Both sides grade the same collected files with the same per-cell time limit. Sunaba:
`cycle.autograde` (grader account prepares and scores; each submission runs in its own
sandbox, as many at once as there are cores). Stock: `nbgrader autograde` in a copy of the
course directory, run as the grader account. Printed: wall time, CPU time of the child
processes, the peak of the grading processes' summed resident memory, and whether the scores of the non-hostile
submissions are identical. No assertion: the figures are for reading.
"""

from __future__ import annotations

import json
import os
import pwd
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import nbformat  # noqa: E402
from tests.support.grading import (  # noqa: E402
    collect_notebooks,
    gradebook_scores,
    stock_autograde,
    stock_course_copy,
)
from tests.support.hub import SunabaHub  # noqa: E402

from sunaba.classroom.sync import sync_courses  # noqa: E402
from sunaba.config.loader import load_config  # noqa: E402
from sunaba.core.layout import CoursePaths, grader_account  # noqa: E402
from sunaba.grading import cycle  # noqa: E402
from sunaba.grading.runner import run_step  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
COURSE, ASSIGNMENT = "opendata-intro", "read-csv"
CELL_TIMEOUT = 10

CORRECT = {
    "read_population": "def read_population():\n"
    '    return read_csv_ja(PATH, dtype={"地域コード": str}, quiet=True)\n',
    "hankaku": "def hankaku(text):\n    return normalize_text(text)\n",
    "read_facilities": "def read_facilities():\n    return read_csv_ja(YAIZU, quiet=True)\n",
    "facility_count": "facility_count = len(read_facilities())\n",
}
PARTLY_WRONG = {
    **CORRECT,
    "read_population": "def read_population():\n    return read_csv_ja(PATH, quiet=True)\n",
    "hankaku": "def hankaku(text):\n    return text\n",
}
HOSTILE = [
    {**CORRECT, "read_facilities": CORRECT["read_facilities"] + "while True:\n    pass\n"},
    {**CORRECT, "hankaku": "import os\nos._exit(1)\n"},
    {
        **CORRECT,
        "read_facilities": CORRECT["read_facilities"] + "import os\nfor name in os.listdir('.'):\n"
        "    os.remove(name) if os.path.isfile(name) else None\n",
    },
]


def mix(count: int) -> dict[str, tuple[str, dict]]:
    """student -> (kind, answers)."""
    students = {}
    for n in range(count):
        name = f"bench{n:03d}"
        if n % 10 == 9:
            students[name] = ("hostile", HOSTILE[(n // 10) % len(HOSTILE)])
        elif n % 10 in (1, 4, 7):
            students[name] = ("partly", PARTLY_WRONG)
        else:
            students[name] = ("correct", CORRECT)
    return students


def submission(release: nbformat.NotebookNode, answers: dict) -> bytes:
    notebook = nbformat.from_dict(json.loads(nbformat.writes(release)))
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
        elif grade_id == "q5_answer":
            cell.source = "地域コードの先頭の 0 が消えて、ほかの表と結合できなくなります。"
    return nbformat.writes(notebook).encode("utf-8")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _pss(process: Path) -> int:
    try:
        for line in (process / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class MemorySampler(threading.Thread):
    """Peak of the summed proportional memory (PSS: pages shared between forked kernels are
    split between them, not counted once per process) of the grading processes: those of the
    given uids (grader, sandboxes) and root's sandbox pool, sampled every 100 ms."""

    def __init__(self, uids: set[int]):
        super().__init__(daemon=True)
        self.uids, self.peak, self.running = uids, 0, True

    def run(self):
        while self.running:
            total = 0
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    status = (entry / "status").read_text()
                    cmdline = (entry / "cmdline").read_bytes()
                except OSError:
                    continue
                fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
                uid = int(fields.get("Uid", "0").split()[0])
                if uid in self.uids or b"sunaba.grading.pool_process" in cmdline:
                    total += _pss(entry)
            self.peak = max(self.peak, total)
            time.sleep(0.1)

    def stop(self) -> int:
        self.running = False
        self.join()
        return self.peak


def main(count: int) -> None:
    prefix = os.environ.get("SUNABA_TEST_PREFIX", "/opt/sunaba")
    hub = SunabaHub(extra={"courses": {"directory": str(REPO / "courses")}})
    scratch = Path(tempfile.mkdtemp(prefix="sunaba-bench-grading-"))
    try:
        scratch.chmod(0o711)
        config = load_config(hub.config_file, environ={})
        config.hub.prefix = prefix
        config.grading.cell_timeout = CELL_TIMEOUT
        hub.state_dir.mkdir(mode=0o700)
        report = sync_courses(config, use_running_hub=False)
        assert report.ok, report.lines()
        paths = CoursePaths.of(config, COURSE)
        release = nbformat.read(paths.root / "release" / ASSIGNMENT / "read_csv.ipynb", 4)
        students = mix(count)
        notebooks = {name: submission(release, answers) for name, (_, answers) in students.items()}
        collect_notebooks(config, COURSE, ASSIGNMENT, "read_csv.ipynb", notebooks)
        copy = stock_course_copy(
            config, COURSE, paths.root, scratch / "course", cell_timeout=CELL_TIMEOUT
        )

        course, assignment = cycle.find_course(config, COURSE, ASSIGNMENT)
        grader = pwd.getpwnam(grader_account(config, COURSE)).pw_uid
        base = config.grading.sandbox_uid_base
        sandbox_uids = set(range(base, base + 2 * (os.cpu_count() or 1)))
        cpu0 = children_cpu()
        sampler = MemorySampler({grader} | sandbox_uids)
        sampler.start()
        start = time.perf_counter()
        autograder = cycle.SandboxedAutograder(config)
        graded = cycle.autograde(config, course, assignment, autograder=autograder)
        sunaba_wall = time.perf_counter() - start
        sunaba_rss = sampler.stop()
        cpu1 = children_cpu()
        assert not graded.failed, graded.lines
        ours = run_step(config, COURSE, "scores", assignments=[ASSIGNMENT])[ASSIGNMENT]
        phases = ", ".join(f"{k} {v:.1f} s" for k, v in autograder.seconds.items())
        print(f"Sunaba: {sunaba_wall:.1f} s wall ({phases}), {cpu1 - cpu0:.1f} s CPU", flush=True)

        sampler = MemorySampler({grader})
        sampler.start()
        start = time.perf_counter()
        completed = stock_autograde(
            config,
            COURSE,
            ASSIGNMENT,
            copy,
            env={
                "SUNABA_DATASETS_PATH": str(Path(prefix) / "share" / "datasets"),
                # What assert_check in hidden tests needs; Sunaba's sandboxes set the same.
                "SUNABA_GRADERS_DIR": str(REPO / "graders"),
                "SUNABA_CHECK_COURSE": COURSE,
                "SUNABA_CHECK_ASSIGNMENT": ASSIGNMENT,
            },
        )
        code = completed.returncode
        stock_failed = completed.stderr.count("There was an error processing assignment")
        stock_wall = time.perf_counter() - start
        stock_rss = sampler.stop()
        cpu2 = children_cpu()
        theirs = gradebook_scores(config, copy, ASSIGNMENT, students)

        honest = [s for s, (kind, _) in students.items() if kind != "hostile"]
        differing = {
            s: (ours[s]["score"], theirs[s]) for s in honest if ours[s]["score"] != theirs[s]
        }
        same = not differing
        hostile = {
            s: (ours[s]["score"], theirs[s]) for s, (k, _) in students.items() if k == "hostile"
        }
        print(f"\nautograde of {count} submissions ({len(honest)} honest), {os.cpu_count()} cores")
        print("| | wall s | CPU s (children) | peak memory MiB (PSS, all grading processes) |")
        print("|---|---|---|---|")
        print(f"| Sunaba | {sunaba_wall:.1f} | {cpu1 - cpu0:.1f} | {sunaba_rss / 2**20:.0f} |")
        print(
            f"| stock nbgrader | {stock_wall:.1f} | {cpu2 - cpu1:.1f} | {stock_rss / 2**20:.0f} |"
        )
        print(f"wall ratio Sunaba/stock: {sunaba_wall / stock_wall:.2f} (target ≤ 0.5)")
        print(f"CPU ratio: {(cpu1 - cpu0) / max(cpu2 - cpu1, 1e-9):.2f}")
        print(f"honest scores identical: {same} {differing or ''}")
        print(f"stock exit code {code}, submissions stock could not autograde: {stock_failed}")
        print(f"hostile (Sunaba, stock): {hostile}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        hub.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
