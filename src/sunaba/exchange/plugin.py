"""nbgrader exchange plugin: the same fetch/submit/list/collect/release steps, over HTTP to the
trusted exchange service instead of a world-writable folder.

Configured for learners' servers and formgraders (see `sunaba.exchange.learner_files`, which
installs a copy of this module as `sunaba_portable.exchange.plugin`):

    c.ExchangeFactory.fetch_assignment = "sunaba_portable.exchange.plugin.FetchAssignment"
    ... (one class per step: LEARNER_CLASSES here, the instructor's in plugin_staff.py)

Identity is never sent: the service takes it from the hub token. Only nbgrader, traitlets, the
standard library and sibling modules (relative imports) are used: this runs in sandboxes.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

from nbgrader.exchange import abc
from traitlets import Bool, Integer, Unicode

from ..core.archive import (
    ArchiveRefused,
    collect_files,
    pack,
    unpack,
    write_files,
)
from ..core.jadate import format_ja
from .client import ExchangeClient, ExchangeUnavailable

SOLUTION_FOLDER = "解答例"  # beside the feedback folders, in the learner's assignment folder


class SunabaExchange(abc.Exchange):
    """Settings and helpers every step shares (configurable as `SunabaExchange.*`)."""

    exchange_url = Unicode(
        "",
        help="Base URL of the exchange service. Empty: ask the hub where the service is.",
    ).tag(config=True)

    path_includes_course = Bool(
        True,
        help="Fetch into <course>/<assignment> (several courses side by side) "
        "instead of <assignment>.",
    ).tag(config=True)

    max_upload_bytes = Integer(
        20 * 1024**2, help="Largest upload sent; the service enforces its own limit too."
    ).tag(config=True)

    _client: ExchangeClient | None = None

    def client(self) -> ExchangeClient:
        """The service client; raises ExchangeUnavailable when it cannot be found."""
        if self._client is None:
            self._client = ExchangeClient.from_environment(self.exchange_url)
        return self._client

    def call(self, fn, *args, **kwargs):
        """Run a client or archive step; its Japanese message becomes an ExchangeError."""
        try:
            return fn(*args, **kwargs)
        except (ExchangeUnavailable, ArchiveRefused) as exc:
            self.fail(str(exc))

    def course_id(self) -> str:
        course = self.coursedir.course_id
        if not course:
            self.fail("コースが指定されていません")
        return course

    def local_dir(self, course: str, assignment: str) -> Path:
        base = Path(self.assignment_dir)
        return base / course / assignment if self.path_includes_course else base / assignment


class Exchange(SunabaExchange):
    def init_src(self):
        pass

    def init_dest(self):
        pass

    def copy_files(self):
        pass


# ----------------------------------------------------------------------------------------------
# Learner steps


class FetchAssignment(SunabaExchange, abc.ExchangeFetchAssignment):
    def init_src(self):
        self.course = self.course_id()
        self.assignment = self.coursedir.assignment_id

    def init_dest(self):
        self.dest = self.local_dir(self.course, self.assignment)
        if self.dest.exists() and not self.replace_missing_files:
            self.fail(
                f"{self.dest} はもうあります。取り直すときは、そのフォルダの名前を変えてから"
                "もう一度取得してください"
            )

    def copy_files(self):
        client = self.call(self.client)
        blob = self.call(
            client.request, "GET", f"api/courses/{self.course}/assignments/{self.assignment}/files"
        )
        files = self.call(unpack, blob, max_bytes=2**31).files
        if self.dest.exists():  # replace_missing_files: keep the learner's work
            files = {n: d for n, d in files.items() if not (self.dest / n).exists()}
        self.dest.mkdir(parents=True, exist_ok=True)
        write_files(files, self.dest)
        self.log.info("取得しました: %s/%s → %s", self.course, self.assignment, self.dest)


class Submit(SunabaExchange, abc.ExchangeSubmit):
    def init_src(self):
        self.course = self.course_id()
        self.assignment = self.coursedir.assignment_id
        self.src = self.local_dir(self.course, self.assignment)
        if not self.src.is_dir():
            self.fail(f"提出するフォルダ {self.src} がありません。先に課題を取得してください")

    def init_dest(self):
        pass

    def copy_files(self):
        files = self.call(collect_files, self.src, max_bytes=self.max_upload_bytes)
        if not any(name.endswith(".ipynb") for name in files):
            self.fail(f"{self.src} にノートブック（.ipynb）がありません")
        client = self.call(self.client)
        result = self.call(
            client.send,
            "POST",
            f"api/courses/{self.course}/assignments/{self.assignment}/submissions",
            pack(files),
        )
        self.submission = result
        when = format_ja(datetime.fromisoformat(result["submitted_at"]))
        note = "（締切後の提出）" if result.get("late") else ""
        self.log.info("提出しました: %s/%s %s%s", self.course, self.assignment, when, note)


class FetchFeedback(SunabaExchange, abc.ExchangeFetchFeedback):
    def init_src(self):
        self.course = self.course_id()
        self.assignment = self.coursedir.assignment_id

    def init_dest(self):
        self.dest = self.local_dir(self.course, self.assignment) / "feedback"

    def copy_files(self):
        client = self.call(self.client)
        listing = self.call(
            client.get_json,
            f"api/courses/{self.course}/submissions?assignment={self.assignment}",
        )
        fetched = 0
        for submission in listing["submissions"]:
            if not submission.get("has_feedback"):
                continue
            stamp = submission["stamp"]
            blob = self.call(
                client.request,
                "GET",
                f"api/courses/{self.course}/assignments/{self.assignment}/feedback/{stamp}",
            )
            files = self.call(unpack, blob, max_bytes=2**31, check_notebooks=False).files
            target = self.dest / stamp
            if target.exists():
                shutil.rmtree(target)
            target.mkdir(parents=True)
            write_files(files, target)
            fetched += 1
        self.log.info("講評を %d 件取得しました: %s/%s", fetched, self.course, self.assignment)
        if fetched:
            self.fetch_solution(client)

    def fetch_solution(self, client):
        """The model solution comes with the feedback once the due date has passed (the
        exchange decides; before that it refuses and nothing is written)."""
        path = f"api/courses/{self.course}/assignments/{self.assignment}/solution"
        try:
            blob = client.request("GET", path)
        except ExchangeUnavailable as exc:
            if exc.status not in (403, 404):
                self.fail(str(exc))
            self.log.info("%s", exc)
            return
        files = self.call(unpack, blob, max_bytes=2**31).files
        target = self.dest / SOLUTION_FOLDER
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        write_files(files, target)
        self.log.info("解答例を取得しました: %s", target)


class List(SunabaExchange, abc.ExchangeList):
    def init_src(self):
        pass

    def init_dest(self):
        pass

    def copy_files(self):
        pass

    def _courses(self) -> list[dict]:
        try:
            courses = self.client().get_json("api/courses")["courses"]
        except ExchangeUnavailable as exc:
            # In no course at all: nothing to list. The hub answers 404 instead of 403 once a
            # token may read some service, so both mean the same here.
            if exc.status in (403, 404):
                return []
            self.fail(str(exc))
        wanted = self.coursedir.course_id
        return [c for c in courses if not wanted or c["id"] == wanted]

    def _wanted(self, assignment: str) -> bool:
        wanted = self.coursedir.assignment_id
        return not wanted or wanted in ("*", assignment)

    def list_files(self):
        if self.inbound or self.cached:
            return self._list_submissions()
        return self._list_released()

    def _list_released(self) -> list[dict]:
        found = []
        for course in self._courses():
            for item in course["assignments"]:
                if not self._wanted(item["id"]):
                    continue
                local = self.local_dir(course["id"], item["id"])
                info = {
                    "course_id": course["id"],
                    "assignment_id": item["id"],
                    "title": item.get("title", ""),
                    "due": item.get("due"),
                    "due_ja": format_ja(_parse(item.get("due"))) if item.get("due") else "",
                    "solutions": bool(item.get("solutions")),
                    "status": "fetched" if local.exists() else "released",
                    "path": str(local.resolve()) if local.exists() else "",
                    "notebooks": [],
                }
                if local.exists():
                    info["notebooks"] = [
                        {"notebook_id": nb.stem, "path": str(nb.resolve())}
                        for nb in sorted(local.glob("*.ipynb"))
                    ]
                found.append(info)
        return found

    def _list_submissions(self) -> list[dict]:
        grouped: dict[tuple, dict] = {}
        courses = self._courses()
        client = self.call(self.client) if courses else None
        for course in courses:
            listing = self.call(client.get_json, f"api/courses/{course['id']}/submissions")
            for sub in listing["submissions"]:
                if not self._wanted(sub["assignment"]):
                    continue
                grouped.setdefault(
                    (course["id"], sub["student"], sub["assignment"]),
                    {
                        "course_id": course["id"],
                        "student_id": sub["student"],
                        "assignment_id": sub["assignment"],
                        "status": "submitted",
                        "submissions": [],
                    },
                )["submissions"].append(self._submission_info(course["id"], sub))
        return [grouped[key] for key in sorted(grouped)]

    def _submission_info(self, course: str, sub: dict) -> dict:
        local = self.local_dir(course, sub["assignment"])
        feedback = local / "feedback" / sub["stamp"]
        has_local = feedback.is_dir() and any(feedback.glob("*.html"))
        when = format_ja(datetime.fromisoformat(sub["submitted_at"]))
        label = f"{when} 提出" + ("（締切後）" if sub.get("late") else "")
        notebooks = [
            {
                "notebook_id": Path(name).stem,
                "has_local_feedback": has_local,
                "has_exchange_feedback": bool(sub.get("has_feedback")),
                "local_feedback_path": str(feedback / f"{Path(name).stem}.html")
                if has_local
                else None,
                "feedback_updated": False,
            }
            for name in sub.get("notebooks", [])
        ]
        return {
            "course_id": course,
            "student_id": sub["student"],
            "assignment_id": sub["assignment"],
            "timestamp": label,
            "stamp": sub["stamp"],
            "late": bool(sub.get("late")),
            "status": "submitted",
            "path": "",
            "notebooks": notebooks,
            "has_local_feedback": has_local,
            "has_exchange_feedback": bool(sub.get("has_feedback")),
            "feedback_updated": False,
            "local_feedback_path": str(feedback) if has_local else None,
        }

    def remove_files(self):
        """Unrelease (instructors): the service refuses anyone who is not staff."""
        course = self.course_id()
        assignment = self.coursedir.assignment_id
        self.call(
            self.call(self.client).request,
            "DELETE",
            f"api/courses/{course}/assignments/{assignment}/release",
        )
        return [{"course_id": course, "assignment_id": assignment, "status": "removed"}]


def _parse(text: str | None):
    return datetime.fromisoformat(text) if text else None


LEARNER_CLASSES = {
    "exchange": Exchange,
    "fetch_assignment": FetchAssignment,
    "fetch_feedback": FetchFeedback,
    "submit": Submit,
    "list": List,
}
