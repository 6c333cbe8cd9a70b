"""The check service: judges learners' answers against `graders/` on the hub side.

A managed hub service (`python -m sunaba.checks.service`). Every request is identified by the
hub from the caller's token (a learner's server token, from their kernel); course membership
comes from the hub's groups on every call, never from the request. Answers arrive as JSON with
Arrow-encoded tables (`sunaba.checks.wire`); responses say what differs, never the expected
value.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections import Counter, defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

from jupyterhub.services.auth import HubAuth
from jupyterhub.utils import url_path_join
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop, PeriodicCallback

from sunaba.checks.grader import NAME, Caller, GraderDirectory, GraderError
from sunaba.checks.records import hints_given, new_event, write_events
from sunaba.checks.spool import EventSpool
from sunaba.checks.wire import FORMAT, AnswerRefused, decode_answer
from sunaba.config.schema import SiteConfig, parse_size
from sunaba.core.state import StatePaths
from sunaba.hub.ports import listen_address
from sunaba.hub.service_app import service_config
from sunaba.hub.service_auth import FreshHubAuth
from sunaba.records.db import default_records_url, ensure_records_schema, make_engine

log = logging.getLogger("sunaba.checks")
SERVICE = "sunaba-checks"
CONFIG_ENV = "SUNABA_CHECKS_SITE_CONFIG"
GRADERS_ENV = "SUNABA_CHECKS_GRADERS"
LEARNER_GROUP = "nbgrader-{}"
GRADER_GROUP = "formgrade-{}"
PENDING_EVERY = 5  # seconds between tries to store events kept while the database was down


class RateLimiter:
    """At most `limit` calls per user in any 60 seconds (sliding window)."""

    def __init__(self, limit: int, window: float = 60.0):
        self.limit = limit
        self.window = window
        self.calls: dict[str, deque[float]] = defaultdict(deque)

    def wait_time(self, user: str) -> float:
        """0 when the call may go ahead (and counts it), else seconds until it may."""
        now = time.monotonic()
        calls = self.calls[user]
        while calls and calls[0] <= now - self.window:
            calls.popleft()
        if len(calls) >= self.limit:
            return calls[0] + self.window - now
        calls.append(now)
        return 0.0


class Checks:
    """What the handlers share: graders, limits, the records database."""

    def __init__(self, config: SiteConfig, graders: GraderDirectory, records_url: str):
        self.config = config
        self.graders = graders
        self.max_bytes = parse_size(config.checks.max_answer_size)
        self.limiter = RateLimiter(config.checks.rate_limit)
        self.engine = make_engine(records_url)
        self.spool = EventSpool(StatePaths.from_config(config).pending_check_events)
        self.hints_seen: Counter[tuple[str, str, str, str]] = Counter()
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="checks")

    async def run(self, fn, *args, **kwargs):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, lambda: fn(*args, **kwargs))

    async def record(self, event: dict) -> None:
        """Store the event, or keep it in the spool while the records database is down: a
        check must answer, and its record must not be lost, during a database restart."""
        if event["kind"] == "hint":
            where = (event["login"], event["course"], event["assignment"], event["question"])
            self.hints_seen[where] += 1
        try:
            await self.run(write_events, self.engine, [event])
        except Exception as exc:
            log.warning(
                "records: database unavailable (%s); check event kept in %s",
                type(exc).__name__,
                self.spool.path,
            )
            try:
                await self.run(self.spool.append, event)
            except OSError:
                log.exception("records: check event of %s lost", event["login"])

    async def write_pending(self) -> None:
        try:
            await self.run(self.spool.drain, self.engine)
        except Exception as exc:
            log.warning(
                "records: %d check events still waiting (%s)",
                len(self.spool.pending()),
                type(exc).__name__,
            )

    async def hints_given(self, login: str, course: str, assignment: str, question: str) -> int:
        waiting = await self.run(self.spool.hints, login, course, assignment, question)
        try:
            stored = await self.run(hints_given, self.engine, login, course, assignment, question)
        except Exception:
            log.warning("records: database unavailable; hint level from this run's hints")
            return max(self.hints_seen[(login, course, assignment, question)], waiting)
        return stored + waiting

    def member_courses(self, groups: frozenset[str]) -> list[str]:
        return [
            c
            for c in self.graders.courses()
            if LEARNER_GROUP.format(c) in groups or GRADER_GROUP.format(c) in groups
        ]

    def resolve(self, groups: frozenset[str], body: dict) -> tuple[str, str]:
        """The course and assignment a call belongs to: explicit, or found in the notebook path
        among the caller's own courses."""
        mine = self.member_courses(groups)
        course, assignment = body.get("course"), body.get("assignment")
        if course or assignment:
            if not (isinstance(course, str) and isinstance(assignment, str)):
                raise web.HTTPError(400, "コースと課題は両方とも文字列で指定してください")
            if course not in mine:
                raise web.HTTPError(403, f"コース「{course[:40]}」に登録されていません")
            return course, assignment
        notebook = body.get("notebook")
        parts = PurePosixPath(notebook).parts if isinstance(notebook, str) else ()
        for i, part in enumerate(parts[:-1]):
            if part in mine and parts[i + 1] in self.graders.assignments(part):
                return part, parts[i + 1]
        found = {
            (c, part) for c in mine for part in parts[:-1] if part in self.graders.assignments(c)
        }
        if len(found) == 1:
            return found.pop()
        if not mine:
            raise web.HTTPError(403, "確認機能のあるコースに登録されていません")
        raise web.HTTPError(
            400,
            "どの課題の問題か分かりません。"
            'set_exercise("コース名", "課題名") で指定してからもう一度実行してください',
        )


@web.stream_request_body
class BaseHandler(web.RequestHandler):
    """Streams the body so that its size is checked before any of it is read."""

    @property
    def checks(self) -> Checks:
        return self.settings["checks"]

    @property
    def hub_auth(self) -> HubAuth:
        return self.settings["hub_auth"]

    async def prepare(self):
        # Size first: a huge body is refused before a single byte of it is read.
        length = self.request.headers.get("Content-Length")
        if length is not None and (not length.isdigit() or int(length) > self.checks.max_bytes):
            raise web.HTTPError(
                413,
                f"答えが大きすぎます（上限 {self.checks.config.checks.max_answer_size}）。"
                "表なら必要な列と行だけにしてから確かめてください",
            )
        model = await self.hub_auth.get_user(self, sync=False)
        if not model:
            raise web.HTTPError(403, "ハブにログインしていないか、トークンが無効です")
        if model.get("kind", "user") != "user" or not self.hub_auth.check_scopes(
            self.hub_auth.access_scopes, model
        ):
            raise web.HTTPError(403, "確認機能を使う権限がありません")
        self.login = model["name"]
        self.groups = frozenset(model.get("groups") or ())
        wait = self.checks.limiter.wait_time(self.login)
        if wait > 0:
            raise web.HTTPError(
                429,
                f"確かめる回数が多すぎます。{int(wait) + 1} 秒ほど待ってからもう一度試してください",
            )

        self.chunks: list[bytes] = []
        self.received = 0

    def data_received(self, chunk: bytes) -> None:
        self.received += len(chunk)
        if self.received > self.checks.max_bytes:
            raise web.HTTPError(413, "答えが大きすぎます")
        self.chunks.append(chunk)

    def get_current_user(self):
        return getattr(self, "login", None)

    def body(self) -> dict:
        self.body_read = True
        try:
            body = json.loads(b"".join(self.chunks).decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise web.HTTPError(
                400, "答えを読み取れません（JSON ではありません。pickle などは使えません）"
            ) from exc
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise web.HTTPError(
                400, "答えの形式が正しくありません。sunaba.checks の check() を使ってください"
            )
        question = body.get("question")
        if not isinstance(question, str):
            raise web.HTTPError(
                400, '問題の名前を文字列で指定してください（例: check("q1", 答え)）'
            )
        return body

    def locate(self, body: dict):
        course, assignment = self.checks.resolve(self.groups, body)
        if not (NAME.match(course) and NAME.match(assignment)):
            raise web.HTTPError(400, "コース名か課題名の形が正しくありません")
        try:
            question = self.checks.graders.question(course, assignment, body["question"])
        except GraderError as exc:
            raise web.HTTPError(404, str(exc)) from exc
        return course, assignment, question

    async def record(self, **fields) -> None:
        await self.checks.record(new_event(login=self.login, **fields))

    def write_error(self, status_code: int, **kwargs):
        message = self._reason
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, web.HTTPError) and exc.log_message:
            message = exc.log_message
        elif status_code >= 500:
            message = "確認の途中でエラーが起きました。講師に連絡してください"
        if not getattr(self, "body_read", False):
            # Refused before its body was read: the connection cannot carry another request,
            # and the proxy must not reuse it (it would answer the next learner with a 503).
            self.set_header("Connection", "close")
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"ok": False, "message": message}, ensure_ascii=False))

    def check_xsrf_cookie(self):
        return None  # token-authenticated API only


class CheckHandler(BaseHandler):
    async def post(self):
        body = self.body()
        course, assignment, question = self.locate(body)
        where = {"course": course, "assignment": assignment, "question": question.id}
        try:
            answer = decode_answer(body.get("answer"))
            caller = Caller(self.login, self.checks.engine)
            verdict = await self.checks.run(question.judge, answer, caller)
        except AnswerRefused as exc:
            await self.record(kind="check", result="refused", **where)
            raise web.HTTPError(400, str(exc)) from exc
        await self.record(kind="check", result="pass" if verdict.ok else "fail", **where)
        self.finish(
            {"ok": verdict.ok, "question": question.id, "messages": verdict.messages, **where}
        )


class HintHandler(BaseHandler):
    async def post(self):
        body = self.body()
        course, assignment, question = self.locate(body)
        where = {"course": course, "assignment": assignment, "question": question.id}
        given = await self.checks.hints_given(self.login, course, assignment, question.id)
        level = min(given + 1, max(len(question.hints), 1))
        text = question.hint(level)
        await self.record(kind="hint", result="hint", hint_level=level, **where)
        self.finish(
            {
                "question": question.id,
                "hint": text or "この問題にはヒントがありません",
                "level": level,
                "total": len(question.hints),
            }
        )


class LimitsHandler(BaseHandler):
    """What the client checks before sending: an oversized answer is refused in the kernel,
    with a clear message, instead of being cut off half-sent."""

    async def get(self):
        self.body_read = True
        size = self.checks.config.checks.max_answer_size
        self.finish({"max_answer_bytes": self.checks.max_bytes, "max_answer_size": size})


def make_app(checks: Checks, hub_auth: HubAuth, prefix: str) -> web.Application:
    api = url_path_join(prefix, "api")
    return web.Application(
        [
            (f"{api}/check", CheckHandler),
            (f"{api}/hint", HintHandler),
            (f"{api}/limits", LimitsHandler),
        ],
        checks=checks,
        hub_auth=hub_auth,
    )


def main() -> None:
    config = service_config(CONFIG_ENV)

    records_url = default_records_url(config)
    ensure_records_schema(records_url)
    checks = Checks(config, GraderDirectory(Path(os.environ[GRADERS_ENV])), records_url)
    hub_auth = FreshHubAuth()
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", f"/services/{SERVICE}/")
    host, port = listen_address(os.environ["JUPYTERHUB_SERVICE_URL"])
    # Bodies over the limit are refused in prepare() from their Content-Length; this cap only
    # stops a body that lies about its length.
    server = HTTPServer(make_app(checks, hub_auth, prefix), max_body_size=checks.max_bytes + 1)
    server.listen(port, host)
    log.info("checks listening on %s:%s, graders in %s", host, port, checks.graders.root)
    loop = IOLoop.current()
    loop.add_callback(checks.write_pending)  # events a previous run could not store
    PeriodicCallback(checks.write_pending, PENDING_EVERY * 1000).start()
    loop.start()


if __name__ == "__main__":
    main()
