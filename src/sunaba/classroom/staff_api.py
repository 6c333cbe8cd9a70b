"""The exchange API a course's instructors and graders call (from their nbgrader and the
formgrader): release and unrelease, collect, return feedback, and autograde in a sandbox."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from tornado import web

from sunaba.classroom.handler_base import BaseHandler
from sunaba.core import archive
from sunaba.exchange.store import StoreError

log = logging.getLogger("sunaba.exchange")


def after_feedback(config, course_id: str, assignment_id: str) -> list[str]:
    """Feedback released from a formgrader: after the due date, the solution goes out with it
    (as with `sunaba grade release-feedback`). Never raises: the feedback is already out."""
    # Grading imports nbgrader; the hub process imports this module through classroom.hub.
    from sunaba.grading import cycle

    try:
        course, assignment = cycle.find_course(config, course_id, assignment_id)
        lines = cycle.solutions_with_feedback(config, course, assignment, datetime.now(UTC))
    except Exception:
        log.exception("solutions of %s/%s not released", course_id, assignment_id)
        return []
    log.info("%s/%s: %s", course_id, assignment_id, " ".join(lines))
    return lines


class ReleaseHandler(BaseHandler):
    async def put(self, course: str, assignment: str):
        self.need_staff(course)
        try:
            info = self.exchange.course(course)
            self.exchange.assignment(info, assignment)
            files = await self.exchange.run(
                archive.unpack, self.request.body, max_bytes=self.exchange.max_bytes
            )
            changed = await self.exchange.run(
                self.exchange.store.release, course, assignment, files.files
            )
        except (StoreError, archive.ArchiveRefused) as exc:
            self.fail(exc)
        await self.exchange.record("released", course, assignment, True)
        self.finish({"changed": changed})

    async def delete(self, course: str, assignment: str):
        self.need_staff(course)
        try:
            changed = await self.exchange.run(self.exchange.store.unrelease, course, assignment)
        except StoreError as exc:
            self.fail(exc)
        await self.exchange.record("released", course, assignment, False)
        self.finish({"changed": changed})


class CollectHandler(BaseHandler):
    """The latest attempt of every learner, as `<student>/<stamp>/<files>` in one tar."""

    async def get(self, course: str, assignment: str):
        self.need_staff(course)
        try:
            files = await self.exchange.run(self.exchange.store.latest_files, course, assignment)
        except StoreError as exc:
            self.fail(exc)
        self.send_tar(files)


class FeedbackReleaseHandler(BaseHandler):
    async def put(self, course: str, assignment: str, student: str, stamp: str):
        self.need_staff(course)
        try:
            files = await self.exchange.run(
                archive.unpack,
                self.request.body,
                max_bytes=self.exchange.max_bytes,
                check_notebooks=False,
            )
            changed = await self.exchange.run(
                self.exchange.store.put_feedback, course, student, assignment, stamp, files.files
            )
        except (StoreError, archive.ArchiveRefused) as exc:
            self.fail(exc)
        await self.exchange.record("feedback", course, assignment, student)
        config = self.exchange.config
        await self.exchange.run(after_feedback, config, course, assignment)
        self.finish({"changed": changed})


class ExecuteHandler(BaseHandler):
    """A formgrader's autograde button: run one submitted notebook (and the files beside it)
    in a grading sandbox; the formgrader scores the result. One run at a time per service."""

    async def post(self, course: str, assignment: str):
        # Grading imports nbgrader; the hub process imports this module through classroom.hub.
        from sunaba.grading.backends import FORMGRADER_UID_OFFSET, run_jobs
        from sunaba.grading.jobs import Job, SandboxError

        self.need_staff(course)
        student = self.get_query_argument("student", "")
        notebook = self.get_query_argument("notebook", "")
        if not student or "/" in student or not notebook.endswith(".ipynb") or "/" in notebook:
            raise web.HTTPError(400, "受講者名かノートブック名が正しくありません")
        try:
            self.exchange.assignment(self.exchange.course(course), assignment)
            # Notebooks checked as for a submission: a broken one is refused here, named.
            files = await self.exchange.run(
                archive.unpack, self.request.body, max_bytes=self.exchange.max_bytes
            )
        except (StoreError, archive.ArchiveRefused) as exc:
            self.fail(exc)
        if notebook not in files.files:
            raise web.HTTPError(400, f"{notebook} が送られていません")
        job = Job(student, files.files, (notebook,))
        async with self.settings["grading_lock"]:
            try:
                ran = await self.exchange.run(
                    run_jobs,
                    self.exchange.config,
                    course,
                    assignment,
                    [job],
                    uid_offset=FORMGRADER_UID_OFFSET,
                )
            except SandboxError as exc:
                raise web.HTTPError(500, str(exc)) from exc
        result = ran[student]
        self.finish({"executed": result.executed.get(notebook), "problems": result.problems})
