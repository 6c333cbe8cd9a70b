"""The exchange API a course's members call: the courses and assignments they see, fetching the
released files, submitting, their own attempts and the feedback on them."""

from __future__ import annotations

from datetime import UTC, datetime

from tornado import web

from sunaba.classroom.handler_base import BaseHandler
from sunaba.core import archive
from sunaba.exchange import solutions
from sunaba.exchange.store import StoreError


def parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class CoursesHandler(BaseHandler):
    async def get(self):
        store = self.exchange.store
        known = await self.exchange.run(store.courses)
        result = []
        for course in self.caller.courses(known):
            info = await self.exchange.run(store.course_info, course)
            if info is None:
                continue
            released = set(await self.exchange.run(store.released, course))
            staff = self.caller.is_staff(course)
            now = datetime.now(UTC)
            assignments = []
            for item in info.get("assignments", []):
                opens = parse_time(item.get("opens"))
                visible = item["id"] in released and (staff or opens is None or opens <= now)
                if visible:
                    # Model solutions out means submissions closed: the assignment list says so.
                    closed = await self.exchange.run(store.has_solutions, course, item["id"])
                    assignments.append({**item, "solutions": closed})
            result.append(
                {
                    "id": course,
                    "title": info.get("title"),
                    "role": "staff" if staff else "learner",
                    "assignments": assignments,
                }
            )
        self.finish({"courses": result, "user": self.caller.name})


class FilesHandler(BaseHandler):
    async def get(self, course: str, assignment: str):
        self.need_member(course)
        try:
            info = self.exchange.course(course)
            item = self.exchange.assignment(info, assignment)
            opens = parse_time(item.get("opens"))
            if not self.caller.is_staff(course) and opens and opens > datetime.now(UTC):
                raise StoreError("この課題はまだ公開されていません", status=403)
            files = await self.exchange.run(self.exchange.store.released_files, course, assignment)
        except StoreError as exc:
            self.fail(exc)
        if self.caller.is_user:
            await self.exchange.record("fetched", course, assignment, self.caller.name)
        self.send_tar(files)


@web.stream_request_body
class SubmitHandler(BaseHandler):
    async def prepare(self):
        self.body_pending = True
        await super().prepare()
        self._chunks: list[bytes] = []
        self._received = 0
        if self.caller is None:
            return
        limit = self.exchange.max_bytes
        declared = self.request.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise web.HTTPError(
                413,
                f"提出が大きすぎます（{int(declared) // 1024**2} MB、上限 {limit // 1024**2} MB）。"
                "何も保存していません",
            )
        self.request.connection.set_max_body_size(limit + 1)

    def data_received(self, chunk: bytes):
        self._received += len(chunk)
        if self._received > self.exchange.max_bytes:
            raise web.HTTPError(413, "提出が大きすぎます。何も保存していません")
        self._chunks.append(chunk)

    async def post(self, course: str, assignment: str):
        self.body_pending = False
        self.need_member(course)
        exchange = self.exchange
        now = datetime.now(UTC)
        try:
            info = exchange.course(course)
            item = exchange.assignment(info, assignment)
            released = await exchange.run(exchange.store.released_files, course, assignment)
            opens, due = parse_time(item.get("opens")), parse_time(item.get("due"))
            staff = self.caller.is_staff(course)
            if not staff and opens and opens > now:
                raise StoreError("この課題はまだ公開されていません", status=403)
            late = bool(due and now > due)
            if late and item.get("late") == "refuse" and not staff:
                raise StoreError("締切を過ぎたため、この課題は提出を受け付けていません", status=403)
            if not staff and await exchange.run(exchange.store.has_solutions, course, assignment):
                raise StoreError(solutions.CLOSED, status=403)
            blob = b"".join(self._chunks)
            received = await exchange.run(archive.unpack, blob, max_bytes=exchange.max_bytes)
            expected = {name for name in released if name.endswith(".ipynb")}
            if expected and not expected & set(received.notebooks):
                raise archive.ArchiveRefused(
                    "配布されたノートブックが 1 つも含まれていません: "
                    + "、".join(sorted(expected))
                )
            submission = await exchange.run(
                exchange.store.add_submission,
                course,
                self.caller.name,
                assignment,
                received,
                now=now,
                late=late,
            )
        except (StoreError, archive.ArchiveRefused) as exc:
            self.fail(exc)
        if self.caller.is_user:
            await exchange.record("submitted", course, assignment, self.caller.name, now, late)
        self.set_status(201)
        self.finish(submission.to_json())


class SubmissionsHandler(BaseHandler):
    """A caller's own attempts (staff may ask for one student's or everyone's)."""

    async def get(self, course: str):
        self.need_member(course)
        assignment = self.get_argument("assignment", None) or None
        student = self.caller.name
        if self.caller.is_staff(course):
            student = self.get_argument("student", None) or None
        try:
            store = self.exchange.store
            found = await self.exchange.run(store.submissions, course, student, assignment)
            result = []
            for submission in found:
                stamps = await self.exchange.run(
                    store.feedback_stamps, course, submission.student, submission.assignment
                )
                data = submission.to_json()
                data["has_feedback"] = submission.stamp in stamps
                result.append(data)
        except StoreError as exc:
            self.fail(exc)
        self.finish({"submissions": result})


class FeedbackHandler(BaseHandler):
    async def get(self, course: str, assignment: str, stamp: str):
        self.need_member(course)
        try:
            files = await self.exchange.run(
                self.exchange.store.feedback_files, course, self.caller.name, assignment, stamp
            )
        except StoreError as exc:
            self.fail(exc)
        self.send_tar(files)
