"""Course fixtures written as a course author would: course.yaml, README.md and nbgrader source
notebooks with an autograded answer, visible and hidden tests, and a written answer."""

from __future__ import annotations

import io
import shutil
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import requests
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from sunaba.config.schema import SiteConfig
from tests.support.hub import Learner, SunabaHub
from tests.support.postgres import create_database, drop_database, new_database_name

HIDDEN_MARK = "HIDDEN-CHECK-7f3a"


def tar_of(files: dict[str, bytes]) -> bytes:
    """A gzip tar of name -> content, as the exchange plugin sends (or as an attacker crafts)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _meta(grade_id: str, *, grade: bool, solution: bool, points: float = 0, locked=False):
    meta = {
        "grade": grade,
        "solution": solution,
        "locked": locked,
        "grade_id": grade_id,
        "schema_version": 3,
        "task": False,
    }
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def source_notebook(answer: int = 42) -> nbformat.NotebookNode:
    """Autograded: `answer()` must return `answer` (1 visible + 1 hidden point); a written answer
    worth 2 points graded by hand."""
    cells = [
        new_markdown_cell("# 練習問題\n`answer()` が正しい数を返すようにしてください。"),
        new_code_cell(
            f"def answer():\n    ### BEGIN SOLUTION\n    return {answer}\n    ### END SOLUTION",
            metadata=_meta("answer", grade=False, solution=True),
        ),
        new_code_cell(
            "assert answer() is not None\nprint('見えるテスト: 合格')",
            metadata=_meta("visible_test", grade=True, solution=False, points=1, locked=True),
        ),
        new_code_cell(
            "assert isinstance(answer(), int)\n"
            "### BEGIN HIDDEN TESTS\n"
            f"assert answer() == {answer}, '{HIDDEN_MARK}'\n"
            f"print('{HIDDEN_MARK}')\n"
            "### END HIDDEN TESTS",
            metadata=_meta("hidden_test", grade=True, solution=False, points=1, locked=True),
        ),
        new_markdown_cell(
            "この数を選んだ理由を書いてください。",
            metadata=_meta("written_prompt", grade=False, solution=False, locked=True),
        ),
        new_markdown_cell(
            "### BEGIN SOLUTION\n理由の模範解答\n### END SOLUTION",
            metadata=_meta("written", grade=True, solution=True, points=2),
        ),
    ]
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return notebook


def write_course(
    courses: Path,
    exercises: Path,
    course_id: str,
    *,
    instructors: list[str],
    learners: list[str],
    assignments: list[dict],
    title: str = "テストコース",
) -> Path:
    """Write courses/<id>/course.yaml + README.md and one notebook per assignment."""
    folder = courses / course_id
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "id": course_id,
        "title": {"ja": title, "en": "Test course"},
        "instructors": instructors,
        "enrolment": {"users": learners},
        "assignments": assignments,
    }
    (folder / "course.yaml").write_text(
        yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    (folder / "README.md").write_text(f"# {title}\n\nシラバスの本文。\n", encoding="utf-8")
    for item in assignments:
        target = exercises / course_id / item.get("source", item["id"])
        target.mkdir(parents=True, exist_ok=True)
        nbformat.write(source_notebook(), str(target / "problem.ipynb"))
    return folder / "course.yaml"


# ----------------------------------------------------------------------------------------------
# A hub with two courses, for the integration tier

KISO_DUE_PAST = "2020-04-01 17:00"  # hw-late is overdue from the start: submissions are late
FAR_FUTURE = "2099-03-31 17:00"


def two_courses(courses: Path, exercises: Path) -> None:
    """kiso: ann, bob and dee, taught by teach; oyo: bob and cat, taught by teach2."""
    write_course(
        courses,
        exercises,
        "kiso",
        title="基礎コース",
        instructors=["teach"],
        learners=["ann", "bob", "dee"],
        assignments=[
            {"id": "hw1", "title": {"ja": "宿題1"}, "due": FAR_FUTURE, "points": 4},
            {"id": "late", "title": {"ja": "締切済みの宿題"}, "due": KISO_DUE_PAST},
        ],
    )
    write_course(
        courses,
        exercises,
        "oyo",
        title="応用コース",
        instructors=["teach2"],
        learners=["bob", "cat"],
        assignments=[{"id": "oyo1", "title": {"ja": "応用1"}, "due": FAR_FUTURE}],
    )


@dataclass
class CourseWorld:
    """A running hub whose course files live in `data`; learners are signed up on demand."""

    hub: SunabaHub
    config: SiteConfig
    data: Path
    db_name: str | None = None
    people: dict[str, Learner] = field(default_factory=dict)

    @property
    def courses(self) -> Path:
        return self.data / "courses"

    def add_small_course(self, course_id: str, title: str, assignment_title: str) -> Path:
        """Write a one-assignment course taught by teach3 to cat (not yet synced)."""
        return write_course(
            self.courses,
            self.data / "exercises",
            course_id,
            title=title,
            instructors=["teach3"],
            learners=["cat"],
            assignments=[{"id": "s1", "title": {"ja": assignment_title}, "due": FAR_FUTURE}],
        )

    def learner(self, name: str, *, spawn: bool = True) -> Learner:
        if name not in self.people:
            self.people[name] = self.hub.new_learner(name)
        person = self.people[name]
        if spawn and not self._running(person):
            self.hub.spawn(person)
        return person

    def _running(self, person: Learner) -> bool:
        model = self.hub.api("GET", f"/users/{person.name}", token=person.token).json()
        server = model.get("servers", {}).get("")
        return bool(server and server.get("ready"))

    def lab(self, person: Learner, method: str, path: str, **body) -> dict:
        """Call the nbgrader assignment-list handlers of the learner's server, as JupyterLab."""
        response = requests.request(
            method,
            f"{self.hub.url}/user/{person.name}/{path}",
            headers={"Authorization": f"token {person.token}"},
            params=body if method == "GET" else None,
            json=body if method != "GET" else None,
            timeout=120,
        )
        if not response.ok:
            raise AssertionError(
                f"{method} {path} as {person.name}: HTTP {response.status_code}\n"
                f"{self.hub.log_tail(40)}\n{self.server_exits()}"
            )
        return response.json()

    def server_exits(self) -> str:
        log = self.hub.state_dir / "logs" / "jupyterhub.log"
        lines = log.read_text(errors="replace").splitlines() if log.exists() else []
        return "\n".join(line for line in lines if "server stopped, with exit code" in line)

    def exchange(self, token: str, method: str, path: str, **kwargs) -> requests.Response:
        """Call the exchange service through the proxy, as a plugin or an attacker would."""
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"token {token}"
        return requests.request(
            method,
            f"{self.hub.url}/services/sunaba-exchange/{path}",
            headers=headers,
            timeout=120,
            allow_redirects=False,
            **kwargs,
        )

    def submitted(self, person: Learner, course: str, assignment: str) -> list:
        """Fetch (once) and submit; return the person's attempts as the exchange keeps them."""
        folder = self.hub.home_of(person) / course / assignment
        if not folder.exists():
            fetched = self.lab(
                person, "POST", "assignments/fetch", course_id=course, assignment_id=assignment
            )
            assert fetched["success"], fetched
        result = self.lab(
            person, "POST", "assignments/submit", course_id=course, assignment_id=assignment
        )
        assert result["success"], result
        return self.attempts(course, person.name, assignment)

    def attempts(self, course: str, student: str, assignment: str) -> list:
        from sunaba.exchange.store import ExchangeStore

        return ExchangeStore(self.hub.state_dir / "exchange").submissions(
            course, student, assignment
        )

    def sync(self):
        from sunaba.classroom.sync import sync_courses

        try:
            return sync_courses(self.config)
        except Exception as exc:
            raise AssertionError(f"sync failed: {exc}\n{self.hub.log_tail(60)}") from exc


def start_course_world(backend: str, more: dict | None = None) -> CourseWorld:
    """Write two courses, sync them as `sunaba up` does before the hub starts, start the hub.
    `more` adds site config sections (merged into those below)."""
    from sunaba.classroom.sync import sync_courses
    from sunaba.config.loader import load_config

    data = Path(tempfile.mkdtemp(prefix="sunaba-test-courses-"))
    data.chmod(0o755)
    db_name = None
    hub = None
    try:
        two_courses(data / "courses", data / "exercises")
        extra = {
            "courses": {
                "directory": str(data / "courses"),
                "exercises": str(data / "exercises"),
                "max_submission_size": "5M",
            },
            # The stock nbgrader comparison in these worlds runs kernels as the grader
            # account over loopback TCP, which the learners' network policy refuses to
            # sandbox uids; the policy itself is tested in test_network_policy.py.
            "network": {"firewall": False},
        }
        if backend == "postgresql":
            db_name = new_database_name()
            extra["records"] = {"db_url": create_database(db_name)}
        for section, values in (more or {}).items():
            extra.setdefault(section, {}).update(values)
        hub = SunabaHub(extra=extra)
        config = load_config(hub.config_file, environ={})
        hub.state_dir.mkdir(mode=0o700)
        report = sync_courses(config, use_running_hub=False)
        assert report.ok, report.lines()
        hub.start()
        return CourseWorld(hub=hub, config=config, data=data, db_name=db_name)
    except BaseException:
        if hub is not None:
            hub.close()
        if db_name:
            drop_database(db_name)
        shutil.rmtree(data, ignore_errors=True)
        raise


def stop_course_world(world: CourseWorld) -> None:
    try:
        world.hub.close()
    finally:
        if world.db_name:
            drop_database(world.db_name)
        shutil.rmtree(world.data, ignore_errors=True)
