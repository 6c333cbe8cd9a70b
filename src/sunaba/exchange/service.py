"""The trusted exchange: a hub service that releases, hands out, receives and returns files.

Learners' nbgrader (through `sunaba.exchange.plugin`) and the formgraders call its JSON/tar API
with their hub token; people open its pages (マイコース, the instructor's course page) through
hub OAuth. Every request is identified by the hub (`Caller`), and every file lives in the
`ExchangeStore` inside the state dir.

Run by the hub as a managed service: `python -m sunaba.exchange.service`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop

from sunaba.config.schema import SiteConfig, parse_size
from sunaba.courses.layout import EXCHANGE_SERVICE, exchange_root
from sunaba.exchange import archive, solutions
from sunaba.exchange.identity import Caller
from sunaba.exchange.store import ExchangeStore, StoreError, check_assignment, check_course
from sunaba.hub.ports import listen_address
from sunaba.hub.service_auth import FreshHubOAuth

log = logging.getLogger("sunaba.exchange")
CONFIG_ENV = "SUNABA_EXCHANGE_SITE_CONFIG"


def parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class Exchange:
    """What the handlers share: the store, the size limit, the records hooks."""

    def __init__(self, config: SiteConfig, store: ExchangeStore, events=None):
        self.config = config
        self.store = store
        self.max_bytes = parse_size(config.courses.max_submission_size)
        self.events = events  # sunaba.exchange.events.RecordsEvents or None
        self.io = ThreadPoolExecutor(max_workers=4, thread_name_prefix="exchange-io")
        # One thread for the records database: SQLite wants one writer at a time.
        self.db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="exchange-db")

    async def run(self, fn, *args, **kwargs):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.io, lambda: fn(*args, **kwargs))

    def course(self, course_id: str) -> dict:
        info = self.store.course_info(check_course(course_id))
        if info is None:
            raise StoreError("このコースはありません", status=404)
        if self.store.is_retired(course_id):
            # Its course file was removed: nobody fetches or submits any more; the CLI can
            # still grade and export what was submitted.
            raise StoreError("このコースは終了しました", status=404)
        return info

    def assignment(self, course_info: dict, assignment_id: str) -> dict:
        check_assignment(assignment_id)
        for item in course_info.get("assignments", []):
            if item["id"] == assignment_id:
                return item
        raise StoreError("この課題はありません", status=404)

    async def record(self, name: str, *args) -> None:
        """Note a step in the records database (before answering, so that pages agree)."""
        if self.events is None:
            return
        try:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self.db, getattr(self.events, name), *args)
        except Exception:  # records feed pages; the exchange must keep working without
            log.exception("records: %s failed", name)


class BaseHandler(HubOAuthenticated, web.RequestHandler):
    """Identifies the caller with the hub on every request; API errors are JSON."""

    api = True

    @property
    def exchange(self) -> Exchange:
        return self.settings["exchange"]

    @property
    def hub_auth(self):
        return self.settings["hub_auth"]

    async def prepare(self):
        model = await self.hub_auth.get_user(self, sync=False)
        self.caller: Caller | None = None
        if model and self.hub_auth.check_scopes(self.hub_auth.access_scopes, model):
            self.caller = Caller.from_model(model)
        elif model:
            raise web.HTTPError(403, "この機能を使う権限がありません")
        if self.caller is None:
            if self.api:
                raise web.HTTPError(403, "ハブにログインしていないか、トークンが無効です")
            self.redirect(self.get_login_url())
            return

    def get_current_user(self):
        return getattr(self, "caller", None)

    def write_error(self, status_code: int, **kwargs):
        message = self._reason
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, web.HTTPError) and exc.log_message:
            message = exc.log_message
        if self.api:
            self.set_header("Content-Type", "application/json; charset=utf-8")
            self.finish(json.dumps({"message": message}, ensure_ascii=False))
        else:
            self.finish(self.settings["pages"].error(status_code, message))

    def check_xsrf_cookie(self):
        # The API is token-authenticated (Authorization header), never by cookie.
        if self.api:
            return None
        return super().check_xsrf_cookie()

    def send_tar(self, files: dict[str, bytes]) -> None:
        self.set_header("Content-Type", "application/gzip")
        self.finish(archive.pack(files))

    def fail(self, exc: StoreError | archive.ArchiveRefused):
        status = exc.status if isinstance(exc, StoreError) else 400
        raise web.HTTPError(status, str(exc))

    def need_member(self, course: str) -> None:
        if not (self.caller.is_learner(course) or self.caller.is_staff(course)):
            raise web.HTTPError(403, "このコースに登録されていません")

    def need_staff(self, course: str) -> None:
        if not self.caller.is_staff(course):
            raise web.HTTPError(403, "このコースの講師・採点者だけができる操作です")


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
        await self.exchange.run(solutions.after_feedback, config, course, assignment)
        self.finish({"changed": changed})


class ExecuteHandler(BaseHandler):
    """A formgrader's autograde button: run one submitted notebook (and the files beside it)
    in a grading sandbox; the formgrader scores the result. One run at a time per service."""

    async def post(self, course: str, assignment: str):
        from sunaba.grading.jobs import Job, SandboxError
        from sunaba.grading.pool_process import FORMGRADER_UID_OFFSET, run_jobs

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


class OAuthCallbackHandler(HubOAuthCallbackHandler):
    """The callback must use the very HubOAuth instance that started the login: it keeps the
    PKCE code verifier of each login in memory."""

    @property
    def hub_auth(self):
        return self.settings["hub_auth"]


def make_app(exchange: Exchange, hub_auth: HubOAuth, prefix: str, pages) -> web.Application:
    name = r"([a-z][a-z0-9_-]{0,39})"
    course = r"([a-z][a-z0-9-]{1,22})"
    stamp = r"(\d{8}T\d{6}\.\d{6}Z)"
    api = url_path_join(prefix, "api")
    routes = [
        (f"{api}/courses", CoursesHandler),
        (f"{api}/courses/{course}/submissions", SubmissionsHandler),
        (f"{api}/courses/{course}/assignments/{name}/files", FilesHandler),
        (f"{api}/courses/{course}/assignments/{name}/submissions", SubmitHandler),
        (f"{api}/courses/{course}/assignments/{name}/feedback/{stamp}", FeedbackHandler),
        (f"{api}/courses/{course}/assignments/{name}/release", ReleaseHandler),
        (f"{api}/courses/{course}/assignments/{name}/collect", CollectHandler),
        (f"{api}/courses/{course}/assignments/{name}/execute", ExecuteHandler),
        (
            f"{api}/courses/{course}/assignments/{name}/feedback/{name}/{stamp}",
            FeedbackReleaseHandler,
        ),
        solutions.route(api, course, name, BaseHandler),
        (url_path_join(prefix, "oauth_callback"), OAuthCallbackHandler),
        *pages.routes(prefix, BaseHandler),
    ]
    return web.Application(
        routes,
        exchange=exchange,
        hub_auth=hub_auth,
        pages=pages,
        grading_lock=asyncio.Lock(),
        cookie_secret=os.urandom(32),
        xsrf_cookies=False,
        login_url=hub_auth.login_url,
    )


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="[%(levelname)s %(name)s] %(message)s")
    config = SiteConfig.model_validate_json(os.environ[CONFIG_ENV])
    logging.getLogger().setLevel(config.hub.log_level)
    from sunaba.exchange.events import RecordsEvents
    from sunaba.exchange.pages import Pages

    store = ExchangeStore(exchange_root(config))
    for folder in store.remove_unfinished_submissions():
        log.warning("removed an unfinished submission left by an earlier run: %s", folder)
    events = RecordsEvents.from_config(config)
    exchange = Exchange(config, store, events)
    # Every request is checked with the hub: a revoked token or a learner just removed from a
    # course is refused from the next request on.
    hub_auth = FreshHubOAuth()
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", f"/services/{EXCHANGE_SERVICE}/")
    pages = Pages(config, events)
    app = make_app(exchange, hub_auth, prefix, pages)
    host, port = listen_address(os.environ["JUPYTERHUB_SERVICE_URL"])
    server = HTTPServer(app, max_body_size=exchange.max_bytes + 1, xheaders=True)
    server.listen(port, host)
    log.info("exchange listening on %s:%s", host, port)
    loop = IOLoop.current()
    loop.add_callback(events.reconcile_groups_soon)
    loop.start()


if __name__ == "__main__":
    main()
