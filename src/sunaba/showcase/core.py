"""What the showcase does, independent of HTTP: publish, restore, unpublish, change visibility,
list what a viewer may see, keep apps running, render thumbnails.

The HTTP handlers (`service.py`) and the admin CLI (through the service's API) are thin layers over
this one object, so the page, the API and the CLI share one implementation. It decides who may do
what and in which order the steps run; the steps themselves are its parts: the records
(`app_records`), the author's notebooks (`author_notebooks`, `author_server` on Kubernetes), the
check before going live (`publish_check`), the apps' servers (`live_apps`) and the thumbnails
(`thumbnails`).
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy.orm import Session, sessionmaker

from sunaba.config.schema import SiteConfig
from sunaba.core.hubclient import AsyncHubClient
from sunaba.showcase import store
from sunaba.showcase.access import can_manage, can_publish_to, can_see_card
from sunaba.showcase.app_records import AppRecords
from sunaba.showcase.apphome import AppHome
from sunaba.showcase.author_notebooks import AuthorNotebooks
from sunaba.showcase.author_server import (
    NO_PERMISSION,
    AuthorServer,
    find_author_server,
    read_notebook_list,
    read_snapshot,
)
from sunaba.showcase.live_apps import LiveApps, make_runner
from sunaba.showcase.messages import ShowcaseError
from sunaba.showcase.paths import ShowcasePaths
from sunaba.showcase.publish_check import PublishCheck
from sunaba.showcase.publish_request import PublishRequest, check_changes, check_publish_request
from sunaba.showcase.records import ShowcaseApp
from sunaba.showcase.runner import AppProcess, AppStartFailed
from sunaba.showcase.sandboxing import KUBERNETES
from sunaba.showcase.sockets import SocketDirectory
from sunaba.showcase.teams import Team, Viewer, get_team, viewer
from sunaba.showcase.thumbnails import Thumbnails

log = logging.getLogger("sunaba.showcase")

VIEWER_CACHE_SECONDS = 5.0
# Where the showcase reaches learners' servers (`/user/<name>/…`) on Kubernetes: the chart's
# proxy Service, from inside the cluster.
DEFAULT_SERVERS_URL = "http://proxy-public"


class Showcase:
    def __init__(
        self,
        config: SiteConfig,
        mode: str,
        *,
        service_prefix: str,
        service_url: str,
        hub: AsyncHubClient,
        sessions: sessionmaker[Session],
        sockets: SocketDirectory,
        servers_url: str = DEFAULT_SERVERS_URL,
    ):
        self.config = config
        self.servers_url = servers_url.rstrip("/")
        self.mode = mode
        self.hub = hub
        self.sockets = sockets
        self.paths = ShowcasePaths.from_config(config)
        self.records = AppRecords(sessions)
        self.runner = make_runner(config, mode, service_prefix, sockets)
        self.runner.wanted = self.records.is_live
        self.live = LiveApps(config, mode, self.runner, self.records)
        self.author_notebooks = AuthorNotebooks(config, mode, self.paths)
        self.check = PublishCheck(config, mode, self.paths, self.runner, self.records)
        apps_url = f"{service_url.rstrip('/')}{service_prefix}apps/"
        self.thumbnails = Thumbnails(
            config, mode, self.paths, self.records, lambda app_id: f"{apps_url}{app_id}/"
        )
        # One heavy job (snapshot + headless run) at a time: the machine is shared with learners.
        self.heavy = asyncio.Semaphore(1)
        self._viewers: dict[str, tuple[float, Viewer | None]] = {}
        self._background: set[asyncio.Task] = set()

    # -- viewers ------------------------------------------------------------------------------

    async def viewer(self, name: str | None) -> Viewer | None:
        if not name:
            return None
        cached = self._viewers.get(name)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        found = await viewer(self.hub, name)
        self._viewers[name] = (time.monotonic() + VIEWER_CACHE_SECONDS, found)
        return found

    def forget_viewers(self) -> None:
        self._viewers.clear()

    # -- reading ------------------------------------------------------------------------------

    def apps(self) -> list[ShowcaseApp]:
        return self.records.all()

    def app(self, app_id: int) -> ShowcaseApp | None:
        return self.records.get(app_id)

    def visible_apps(self, who: Viewer | None) -> list[ShowcaseApp]:
        return [app for app in self.apps() if can_see_card(app, who)]

    def app_for_manager(self, app_id: int, who: Viewer | None) -> ShowcaseApp:
        app = self.app(app_id)
        if app is None or app.status == "draft":
            raise ShowcaseError("そのアプリはありません。", status=404)
        if not can_manage(app, who):
            raise ShowcaseError(
                "このアプリを管理できるのは、チームのメンバーと管理者だけです。", 403
            )
        return app

    def left_out(self, app_id: int, number: int | None) -> list[dict]:
        """The files version `number` of an app left out of its snapshot, and why."""
        return store.read_left_out(self.paths, app_id, number) if number else []

    # -- the author's notebooks -----------------------------------------------------------

    async def _author_server(self, token: str | None) -> AuthorServer:
        """On Kubernetes: the author's running server, opened with their own token (never the
        service's: the showcase reads no one's files but the asking author's)."""
        if not token:
            raise ShowcaseError(NO_PERMISSION, status=403, reason="no_server_access")
        return await find_author_server(self.hub.url, self.servers_url, token)

    async def notebooks(self, who: Viewer, token: str | None = None) -> list[dict]:
        if self.mode == KUBERNETES:  # learners' homes are volumes of their own pods
            return await read_notebook_list(await self._author_server(token))
        return await self.author_notebooks.listing(who.name)

    async def _snapshot(self, who: Viewer, relative: str, token: str | None) -> store.Snapshot:
        if self.mode == KUBERNETES:
            server = await self._author_server(token)
            max_bytes = self.author_notebooks.max_bytes
            stream = await read_snapshot(server, relative, max_bytes)
            return self.author_notebooks.unpacked(stream, max_bytes)
        return await self.author_notebooks.snapshot(who.name, relative)

    # -- publishing ---------------------------------------------------------------------------

    async def publish(
        self, who: Viewer, request: PublishRequest, token: str | None = None
    ) -> ShowcaseApp:
        """Snapshot, run headless, store as a new version and serve it; on any failure nothing
        that viewers see changes. `token` (the author's own) opens their server on Kubernetes."""
        check_publish_request(request)
        existing = None
        if request.app_id is not None:
            existing = self.app_for_manager(request.app_id, who)
        team = await self._team_to_publish_as(who, existing.team if existing else request.team)
        async with self.heavy:
            snapshot = await self._snapshot(who, request.notebook, token)
            app, number = await self._store_checked_version(who, request, snapshot, team, existing)
        try:
            await self.runner.start(app.id, number, snapshot.notebook)
        except AppStartFailed as exc:
            raise ShowcaseError(
                "アプリのサーバーを起動できませんでした。版は保存されています。"
                + ("公開中の版はそのまま表示されています。" if existing else ""),
                status=500,
                reason="start_failed",
                log=exc.log_tail,
            ) from exc
        app = self.records.go_live(app.id, number, snapshot.notebook, request)
        self._in_background(self.thumbnails.render(app.id, number))
        return app

    async def _team_to_publish_as(self, who: Viewer, team_name: str) -> Team:
        team = await get_team(self.hub, team_name)
        if team is None:
            raise ShowcaseError(f"チーム「{team_name}」はありません。", status=404, reason="team")
        if not can_publish_to(team.name, who):
            raise ShowcaseError(
                f"チーム「{team.label}」のメンバーではないため、このチームとして公開できません。",
                status=403,
                reason="not_member",
            )
        return team

    async def _store_checked_version(
        self,
        who: Viewer,
        request: PublishRequest,
        snapshot: store.Snapshot,
        team: Team,
        existing: ShowcaseApp | None,
    ) -> tuple[ShowcaseApp, int]:
        """Check the snapshot and keep it as the app's next version (a new app: as a draft
        until it goes live); if anything fails, the snapshot and the draft go."""
        app = existing
        try:
            if app is None:
                app = self.records.create_draft(team, who, request, snapshot.notebook)
            async with self.runner.lock(app.id):
                number = self.records.next_number(app.id)
                await self.check.run(app.id, number, snapshot, had_live=existing is not None)
                store.commit(self.paths, snapshot, app.id, number)
                store.write_left_out(self.paths, app.id, number, snapshot.skipped)
                self.records.add_version(app.id, number, who, request, snapshot)
        except BaseException:
            store.discard(snapshot.folder)
            if existing is None and app is not None:
                self._delete_draft(app.id)
            raise
        return app, number

    def _delete_draft(self, app_id: int) -> None:
        """A first publish failed: no app, so no account, home or cgroup either."""
        self.records.delete_draft(app_id)
        AppHome(self.config, app_id, self.mode).purge()

    # -- versions, visibility, unpublishing -------------------------------------------------

    async def restore(self, who: Viewer, app_id: int, number: int) -> ShowcaseApp:
        app = self.app_for_manager(app_id, who)
        version = app.version(number)
        if version is None or not self.paths.version_dir(app_id, number).is_dir():
            raise ShowcaseError(f"第 {number} 版はありません。", status=404)
        notebook = store.notebook_in(self.paths.version_dir(app_id, number), app.notebook)
        try:
            await self.runner.start(app_id, number, notebook)
        except AppStartFailed as exc:
            raise ShowcaseError(
                "その版のサーバーを起動できませんでした。", status=500, log=exc.log_tail
            ) from exc
        return self.records.go_live(app_id, number, notebook)

    async def unpublish(self, who: Viewer, app_id: int) -> ShowcaseApp:
        """Take the app down: its server, account, home and cgroup go; the stored versions
        stay, so the team can restore one (which creates the account again)."""
        app = self.app_for_manager(app_id, who)
        # Marked first: from now on neither a viewer's visit nor the supervisor starts it.
        self.records.set_status(app_id, "unpublished")
        await self.runner.stop(app_id, purge=True)
        return self.app(app.id)

    async def purge(self, who: Viewer, app_id: int) -> dict:
        """Delete an app that is no longer live, for good: its stored versions, thumbnails,
        log and records, and its account, home and cgroup if any are left."""
        if not who.admin:
            raise ShowcaseError("アプリを完全に削除できるのは管理者だけです。", status=403)
        app = self.app(app_id)
        if app is None:
            raise ShowcaseError(f"アプリ {app_id} はありません。", status=404)
        if app.status == "live":
            raise ShowcaseError(
                f"アプリ {app_id} は公開中です。先に非公開にしてください"
                f"（sunaba showcase unpublish {app_id}）。",
                status=409,
                reason="live",
            )
        await self.runner.stop(app_id, purge=True)
        await asyncio.to_thread(store.purge_app, self.paths, app_id)
        (self.paths.logs / f"app{app_id}.log").unlink(missing_ok=True)
        self.records.delete(app_id)
        return {"id": app_id, "title": app.title, "account": self.runner.home(app_id).account}

    async def change(
        self,
        who: Viewer,
        app_id: int,
        *,
        visibility: str | None = None,
        title: str | None = None,
        description: str | None = None,
    ) -> ShowcaseApp:
        self.app_for_manager(app_id, who)
        check_changes(visibility, title, description)
        return self.records.change(app_id, visibility, title, description)

    # -- serving ------------------------------------------------------------------------------

    def process(self, app: ShowcaseApp) -> AppProcess | None:
        return self.live.process(app)

    async def start_all(self) -> None:
        await self.live.start_all()

    async def supervise(self) -> None:
        await self.live.supervise()

    async def purge_leftovers(self) -> list[str]:
        return await self.live.purge_leftovers()

    # -- background work ------------------------------------------------------------------

    def _in_background(self, coroutine) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def idle(self) -> None:
        """Wait for background work (thumbnails); used at shutdown and by tests."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)
