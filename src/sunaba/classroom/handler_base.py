"""What every handler of the exchange service stands on: the shared `Exchange` (the store, the
size limit, the records hooks) and `BaseHandler`, which has the hub identify the caller on every
request and answers API errors as JSON."""

from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import ThreadPoolExecutor

from tornado import web

from sunaba.classroom.identity import Caller
from sunaba.config.schema import SiteConfig, parse_size
from sunaba.core import archive
from sunaba.exchange.store import ExchangeStore, StoreError, check_assignment, check_course
from sunaba.hub.service_app import ServiceHandler

log = logging.getLogger("sunaba.exchange")


class Exchange:
    """What the handlers share: the store, the size limit, the records hooks."""

    def __init__(self, config: SiteConfig, store: ExchangeStore, events=None):
        self.config = config
        self.store = store
        self.max_bytes = parse_size(config.courses.max_submission_size)
        self.events = events  # sunaba.classroom.events.RecordsEvents or None
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


class BaseHandler(ServiceHandler):
    """Identifies the caller with the hub on every request; API errors are JSON."""

    api = True
    # True while a streamed upload's body is still unread. Refused then, tornado closes the
    # connection after the answer; saying so keeps the proxy from reusing it for the next
    # request (which it would answer with a 503).
    body_pending = False

    @property
    def exchange(self) -> Exchange:
        return self.settings["exchange"]

    async def prepare(self):
        self.caller: Caller | None = None
        model = await self.hub_model()
        if model:
            self.caller = Caller.from_model(model)
        if self.caller is None:
            if self.api:
                raise web.HTTPError(403, "ハブにログインしていないか、トークンが無効です")
            self.redirect(self.get_login_url())
            return

    def get_current_user(self):
        return getattr(self, "caller", None)

    def write_error(self, status_code: int, **kwargs):
        message = self.error_text(**kwargs)
        if self.body_pending:
            self.set_header("Connection", "close")
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
