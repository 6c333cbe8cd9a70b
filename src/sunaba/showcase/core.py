"""What the showcase does, independent of HTTP: publish, restore, unpublish, change visibility,
list what a viewer may see, keep apps running, render thumbnails.

The HTTP handlers (`service.py`) and the admin CLI (through the service's API) are thin layers over
this one object, so the page, the API and the CLI share one implementation.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sunaba.config.schema import SiteConfig, parse_size
from sunaba.showcase import store
from sunaba.showcase.access import can_manage, can_publish_to, can_see_card
from sunaba.showcase.apphome import AppHome, app_ids_with_a_home
from sunaba.showcase.author_server import (
    NO_PERMISSION,
    AuthorServer,
    find_author_server,
    read_notebook_list,
    read_snapshot,
)
from sunaba.showcase.hubapi import HubAPI
from sunaba.showcase.jobs import run_job
from sunaba.showcase.messages import ShowcaseError, check_failed, snapshot_refused
from sunaba.showcase.paths import ShowcasePaths, app_id_of, learner_account, learner_home
from sunaba.showcase.records import VISIBILITIES, ShowcaseApp, ShowcaseVersion
from sunaba.showcase.runner import AppProcess, AppRunner, AppStartFailed
from sunaba.showcase.sandboxing import Identity, SandboxedRun, script_argv
from sunaba.showcase.sockets import SocketDirectory
from sunaba.showcase.teams import Team, Viewer, get_team, viewer

log = logging.getLogger("sunaba.showcase")

VIEWER_CACHE_SECONDS = 5.0
THUMBNAIL_PASS_SECONDS = 180.0
THUMBNAIL_HEADER = "X-Sunaba-Thumbnail"
CHROMIUM = "/usr/bin/chromium"
MAX_TITLE = 100
MAX_DESCRIPTION = 2000
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# On Kubernetes each app runs in a pod of its own (`k8s_runner`), an author's notebook is read
# from their own running server (`author_server`) and the publish-time check runs in a pod of
# its own (`k8s_check`); thumbnails (a browser next to the app) are not rendered there.
KUBERNETES = "kubernetes"
# Where the showcase reaches learners' servers (`/user/<name>/…`) on Kubernetes: the chart's
# proxy Service, from inside the cluster.
DEFAULT_SERVERS_URL = "http://proxy-public"


def make_runner(config: SiteConfig, mode: str, service_prefix: str, sockets: SocketDirectory):
    if mode == KUBERNETES:
        from sunaba.showcase.k8s_runner import PodAppRunner

        return PodAppRunner(config, service_prefix, sockets)
    return AppRunner(config, mode, service_prefix, sockets)


@dataclass(frozen=True)
class PublishRequest:
    notebook: str
    title: str
    description: str
    team: str
    visibility: str
    app_id: int | None = None


class Showcase:
    def __init__(
        self,
        config: SiteConfig,
        mode: str,
        *,
        service_prefix: str,
        service_url: str,
        hub: HubAPI,
        sessions: sessionmaker[Session],
        sockets: SocketDirectory,
        servers_url: str = DEFAULT_SERVERS_URL,
    ):
        self.config = config
        self.servers_url = servers_url.rstrip("/")
        self.mode = mode
        self.service_prefix = service_prefix
        self.service_url = service_url.rstrip("/")
        self.hub = hub
        self.sessions = sessions
        self.sockets = sockets
        self.paths = ShowcasePaths.from_config(config)
        self.runner = make_runner(config, mode, service_prefix, sockets)
        self.runner.wanted = self.is_live
        # One heavy job (snapshot + headless run) at a time: the machine is shared with learners.
        self.heavy = asyncio.Semaphore(1)
        self._viewers: dict[str, tuple[float, Viewer | None]] = {}
        self._thumbnail_passes: dict[int, tuple[str, float]] = {}
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
        with self.sessions() as session:
            return list(
                session.scalars(select(ShowcaseApp).order_by(ShowcaseApp.updated_at.desc()))
            )

    def app(self, app_id: int) -> ShowcaseApp | None:
        with self.sessions() as session:
            return session.get(ShowcaseApp, app_id)

    def is_live(self, app_id: int) -> bool:
        app = self.app(app_id)
        return app is not None and app.status == "live"

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

    # -- the author's notebooks -----------------------------------------------------------

    def _author(self, name: str) -> tuple[Identity, Path]:
        home = learner_home(self.config, name)
        if self.mode == "full":
            import pwd

            try:
                entry = pwd.getpwnam(learner_account(self.config, name))
            except KeyError:
                entry = None
            if entry is None or not home.is_dir():
                raise ShowcaseError(
                    "ホームフォルダーがまだありません。一度 JupyterLab を起動してから公開してください。",
                    status=409,
                    reason="no_home",
                )
            return Identity(entry.pw_uid, entry.pw_gid, entry.pw_name), home
        if not home.is_dir():
            raise ShowcaseError("ホームフォルダーがまだありません。", status=409, reason="no_home")
        return Identity(name=name), home

    def _reader_run(self, identity: Identity, home: Path) -> SandboxedRun:
        return SandboxedRun(identity=identity, writable=home, readonly=(str(self.paths.prefix),))

    async def _author_server(self, token: str | None) -> AuthorServer:
        """On Kubernetes: the author's running server, opened with their own token (never the
        service's: the showcase reads no one's files but the asking author's)."""
        if not token:
            raise ShowcaseError(NO_PERMISSION, status=403, reason="no_server_access")
        return await find_author_server(self.hub.url, self.servers_url, token)

    async def notebooks(self, who: Viewer, token: str | None = None) -> list[dict]:
        if self.mode == KUBERNETES:  # learners' homes are volumes of their own pods
            return await read_notebook_list(await self._author_server(token))
        identity, home = self._author(who.name)
        request = json.dumps({"mode": "list", "home": str(home)})
        job = await run_job(
            self.config,
            self._reader_run(identity, home),
            script_argv(self.config, "snapshot_reader", request),
            timeout=30,
        )
        if job.returncode != 0:
            raise ShowcaseError("ノートブックの一覧を読めませんでした。", status=500)
        return json.loads(job.stdout)

    async def _snapshot(self, who: Viewer, relative: str, token: str | None) -> store.Snapshot:
        max_bytes = parse_size(self.config.showcase.max_snapshot_size)
        if self.mode == KUBERNETES:
            server = await self._author_server(token)
            return self._unpacked(await read_snapshot(server, relative, max_bytes), max_bytes)
        identity, home = self._author(who.name)
        request = json.dumps(
            {"mode": "snapshot", "home": str(home), "notebook": relative, "max_bytes": max_bytes}
        )
        job = await run_job(
            self.config,
            self._reader_run(identity, home),
            script_argv(self.config, "snapshot_reader", request),
            timeout=60,
        )
        if job.timed_out:
            raise ShowcaseError("ノートブックの読み込みが時間内に終わりませんでした。", 504)
        if job.returncode != 0:
            try:
                refusal = json.loads(job.stderr.decode(errors="replace").strip().splitlines()[-1])
            except (ValueError, IndexError):
                refusal = {
                    "error": "unreadable",
                    "detail": job.stderr.decode(errors="replace")[-200:],
                }
            raise snapshot_refused(refusal.get("error", "unreadable"), refusal.get("detail", ""))
        return self._unpacked(job.stdout, max_bytes)

    def _unpacked(self, stream: bytes, max_bytes: int) -> store.Snapshot:
        staging = store.new_staging(self.paths)
        try:
            return store.unpack(stream, staging, max_bytes)
        except store.SnapshotRejected as exc:
            store.discard(staging)
            raise snapshot_refused(exc.code, exc.detail) from exc

    # -- publishing ---------------------------------------------------------------------------

    def _validate(self, request: PublishRequest) -> None:
        if not request.title.strip() or len(request.title) > MAX_TITLE:
            raise ShowcaseError(
                f"タイトルを入力してください（{MAX_TITLE} 文字まで）。", reason="title"
            )
        if len(request.description) > MAX_DESCRIPTION:
            raise ShowcaseError(
                f"説明は {MAX_DESCRIPTION} 文字までにしてください。", reason="description"
            )
        if request.visibility not in VISIBILITIES:
            raise ShowcaseError(
                "公開範囲は「チーム内」「ハブの全員」「一般公開」から選んでください。"
            )
        if not request.notebook.strip():
            raise ShowcaseError("公開するノートブックを選んでください。", reason="notebook")

    async def publish(
        self, who: Viewer, request: PublishRequest, token: str | None = None
    ) -> ShowcaseApp:
        """Snapshot, run headless, store as a new version and serve it; on any failure nothing
        that viewers see changes. `token` (the author's own) opens their server on Kubernetes."""
        self._validate(request)
        existing = None
        team_name = request.team
        if request.app_id is not None:
            existing = self.app_for_manager(request.app_id, who)
            team_name = existing.team
        team = await get_team(self.hub, team_name)
        if team is None:
            raise ShowcaseError(f"チーム「{team_name}」はありません。", status=404, reason="team")
        if not can_publish_to(team.name, who):
            raise ShowcaseError(
                f"チーム「{team.label}」のメンバーではないため、このチームとして公開できません。",
                status=403,
                reason="not_member",
            )
        async with self.heavy:
            snapshot = await self._snapshot(who, request.notebook, token)
            app = existing
            try:
                if app is None:
                    app = self._create_draft(team, who, request, snapshot.notebook)
                async with self.runner.lock(app.id):
                    number = self._next_number(app.id)
                    await self._check(app, number, snapshot, had_live=existing is not None)
                    store.commit(self.paths, snapshot, app.id, number)
                    store.write_left_out(self.paths, app.id, number, snapshot.skipped)
                    self._add_version(app.id, number, who, request, snapshot)
            except BaseException:
                store.discard(snapshot.folder)
                if existing is None and app is not None:
                    self._delete_draft(app.id)
                raise
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
        app = self._go_live(app.id, number, snapshot.notebook, request)
        self._in_background(self.render_thumbnail(app.id, number))
        return app

    def left_out(self, app_id: int, number: int | None) -> list[dict]:
        """The files version `number` of an app left out of its snapshot, and why."""
        return store.read_left_out(self.paths, app_id, number) if number else []

    def _create_draft(
        self, team: Team, who: Viewer, request: PublishRequest, notebook: str
    ) -> ShowcaseApp:
        with self.sessions.begin() as session:
            app = ShowcaseApp(
                team=team.name,
                course=team.course,
                title=request.title.strip(),
                description=request.description.strip(),
                visibility=request.visibility,
                status="draft",
                notebook=notebook,
                created_by=who.name,
            )
            session.add(app)
        return app

    def _delete_draft(self, app_id: int) -> None:
        """A first publish failed: no app, so no account, home or cgroup either."""
        with self.sessions.begin() as session:
            app = session.get(ShowcaseApp, app_id)
            if app is not None and app.status == "draft" and not app.versions:
                session.delete(app)
        AppHome(self.config, app_id, self.mode).purge()

    def _next_number(self, app_id: int) -> int:
        with self.sessions() as session:
            return session.get(ShowcaseApp, app_id).next_version_number

    async def _check(
        self, app: ShowcaseApp, number: int, snapshot: store.Snapshot, *, had_live: bool
    ) -> None:
        """Run the notebook top to bottom in the app's own sandbox; raise with the failing cell."""
        timeout = self.config.showcase.cell_timeout
        cells = count_code_cells(snapshot.folder / snapshot.notebook)
        budget = min(timeout * (cells + 1) + 60, 3600)
        if self.mode == KUBERNETES:
            result = await self._check_in_pod(app, snapshot, budget)
            if not result.get("ok"):
                raise check_failed(result, timeout, had_live=had_live, skipped=snapshot.skipped)
            return
        home = AppHome(self.config, app.id, self.mode)
        identity = await asyncio.to_thread(home.ensure)
        deployed = await asyncio.to_thread(home.deploy, snapshot.folder, number)
        run_dir = home.new_run_dir(identity)
        group = home.cgroup()
        if group is not None:
            group.create(home.limits)
        try:
            job = await run_job(
                self.config,
                SandboxedRun(
                    identity=identity,
                    writable=run_dir,
                    readonly=(str(self.paths.prefix), str(deployed)),
                    limits=home.limits,
                    cgroup=group,
                ),
                script_argv(
                    self.config,
                    "headless_check",
                    json.dumps({"notebook": str(deployed / snapshot.notebook), "timeout": timeout}),
                ),
                timeout=budget,
            )
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)
        if job.timed_out:
            result = {"ok": False, "kind": "timeout", "number": None}
        else:
            try:
                result = json.loads(job.stdout.decode().strip().splitlines()[-1])
            except (ValueError, IndexError):
                result = {
                    "ok": False,
                    "kind": "dead",
                    "number": None,
                    "evalue": job.stderr.decode(errors="replace")[-500:],
                }
        if not result.get("ok"):
            live = self.app(app.id).live_version
            await asyncio.to_thread(home.prune, {live} if live else set())
            raise check_failed(result, timeout, had_live=had_live, skipped=snapshot.skipped)

    async def _check_in_pod(self, app: ShowcaseApp, snapshot: store.Snapshot, budget: int) -> dict:
        # Imported here: the Kubernetes modules are needed only in that mode.
        from sunaba.showcase.k8s_check import PodCheck
        from sunaba.showcase.k8s_runner import start_failure

        try:
            return await PodCheck(self.runner, self.config).run(
                app.id, snapshot.folder, snapshot.notebook, budget
            )
        except Exception as exc:  # the API refused or is unreachable: an admin's matter
            failure = start_failure(app.id, exc)
            if failure is None:
                raise
            log.error("check pod of app %s: %s", app.id, failure.log_tail)
            raise ShowcaseError(
                "公開前の確認を実行する環境を用意できませんでした。管理者に連絡してください。",
                status=500,
                reason="check_unavailable",
                log=failure.log_tail,
            ) from exc

    def _add_version(
        self,
        app_id: int,
        number: int,
        who: Viewer,
        request: PublishRequest,
        snapshot: store.Snapshot,
    ) -> None:
        with self.sessions.begin() as session:
            version = ShowcaseVersion(
                app_id=app_id,
                number=number,
                source_path=request.notebook,
                published_by=who.name,
                size_bytes=snapshot.size_bytes,
                sha256=snapshot.sha256,
            )
            version.files = snapshot.files
            session.add(version)

    def _go_live(
        self, app_id: int, number: int, notebook: str, request: PublishRequest | None = None
    ) -> ShowcaseApp:
        with self.sessions.begin() as session:
            app = session.get(ShowcaseApp, app_id)
            app.live_version = number
            app.status = "live"
            app.notebook = notebook
            if request is not None:
                app.title = request.title.strip()
                app.description = request.description.strip()
                app.visibility = request.visibility
        return self.app(app_id)

    # -- versions, visibility, unpublishing -------------------------------------------------

    async def restore(self, who: Viewer, app_id: int, number: int) -> ShowcaseApp:
        app = self.app_for_manager(app_id, who)
        version = app.version(number)
        if version is None or not self.paths.version_dir(app_id, number).is_dir():
            raise ShowcaseError(f"第 {number} 版はありません。", status=404)
        notebook = notebook_in(self.paths.version_dir(app_id, number), app.notebook)
        try:
            await self.runner.start(app_id, number, notebook)
        except AppStartFailed as exc:
            raise ShowcaseError(
                "その版のサーバーを起動できませんでした。", status=500, log=exc.log_tail
            ) from exc
        return self._go_live(app_id, number, notebook)

    async def unpublish(self, who: Viewer, app_id: int) -> ShowcaseApp:
        """Take the app down: its server, account, home and cgroup go; the stored versions
        stay, so the team can restore one (which creates the account again)."""
        app = self.app_for_manager(app_id, who)
        # Marked first: from now on neither a viewer's visit nor the supervisor starts it.
        self._set_status(app_id, "unpublished")
        await self.runner.stop(app_id, purge=True)
        return self.app(app.id)

    def _set_status(self, app_id: int, status: str) -> None:
        with self.sessions.begin() as session:
            session.get(ShowcaseApp, app_id).status = status

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
        with self.sessions.begin() as session:
            session.delete(session.get(ShowcaseApp, app_id))
        return {"id": app_id, "title": app.title, "account": self.runner.home(app_id).account}

    async def purge_leftovers(self) -> list[str]:
        """Remove the accounts, homes and cgroups of apps that are not live (left by a version
        of Sunaba that kept them, or by a service that died mid-publish); return the accounts.

        Apps whose lock is held (being published or restored right now) are left alone.
        """
        if self.mode == KUBERNETES:
            found = await self.runner.app_ids_with_pods()
        else:
            found = await asyncio.to_thread(app_ids_with_a_home, self.config, self.mode)
        for group in self.runner.all_groups():
            app_id = app_id_of(self.config, group.dirs[0].name)
            if app_id is not None:
                found.add(app_id)
        removed = []
        for app_id in sorted(found):
            if self.is_live(app_id) or self.runner.lock(app_id).locked():
                continue
            await self.runner.stop(app_id, purge=True)
            removed.append(self.runner.home(app_id).account)
        return removed

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
        if visibility is not None and visibility not in VISIBILITIES:
            raise ShowcaseError(
                "公開範囲は「チーム内」「ハブの全員」「一般公開」から選んでください。"
            )
        if title is not None and (not title.strip() or len(title) > MAX_TITLE):
            raise ShowcaseError(f"タイトルを入力してください（{MAX_TITLE} 文字まで）。")
        if description is not None and len(description) > MAX_DESCRIPTION:
            raise ShowcaseError(f"説明は {MAX_DESCRIPTION} 文字までにしてください。")
        with self.sessions.begin() as session:
            app = session.get(ShowcaseApp, app_id)
            if visibility is not None:
                app.visibility = visibility
            if title is not None:
                app.title = title.strip()
            if description is not None:
                app.description = description.strip()
        return self.app(app_id)

    # -- serving ------------------------------------------------------------------------------

    def process(self, app: ShowcaseApp) -> AppProcess | None:
        """The running server of a live app, or None while it (re)starts in the background."""
        process = self.runner.current(app.id)
        if process is not None and process.version == app.live_version:
            return process
        if app.live_version is not None and app.status == "live":
            self.runner.start_in_background(app.id, app.live_version, app.notebook)
        return process

    async def start_all(self) -> None:
        """At service start: bring every live app up, one after another."""
        for app in self.apps():
            if app.status == "live" and app.live_version is not None:
                try:
                    await self.runner.start(app.id, app.live_version, app.notebook)
                except (AppStartFailed, OSError) as exc:
                    log.error("app %s could not start: %s", app.id, exc)

    async def supervise(self, every: float = 10.0) -> None:
        """Restart live apps whose server died (out of memory, killed by an admin)."""
        while True:
            await asyncio.sleep(every)
            for app in self.apps():
                if app.status != "live" or app.live_version is None:
                    continue
                if self.runner.current(app.id) is None and app.id not in self.runner.failures:
                    self.runner.start_in_background(app.id, app.live_version, app.notebook)

    # -- thumbnails ---------------------------------------------------------------------------

    def thumbnail_pass_ok(self, app_id: int, presented: str | None) -> bool:
        issued = self._thumbnail_passes.get(app_id)
        if not presented or issued is None or issued[1] < time.monotonic():
            return False
        return hmac.compare_digest(issued[0], presented)

    async def render_thumbnail(self, app_id: int, number: int) -> bool:
        if not self.config.showcase.thumbnails or not os.path.exists(CHROMIUM):
            return False
        if self.mode == KUBERNETES:
            return False
        if not self.is_live(app_id):  # unpublished meanwhile: its account is gone
            return False
        home = AppHome(self.config, app_id, self.mode)
        identity = await asyncio.to_thread(home.ensure)
        run_dir = home.new_run_dir(identity)
        secret = secrets.token_urlsafe(32)
        self._thumbnail_passes[app_id] = (secret, time.monotonic() + THUMBNAIL_PASS_SECONDS)
        request = {
            "url": f"{self.service_url}{self.service_prefix}apps/{app_id}/",
            "out": str(run_dir / "thumbnail.png"),
            "chromium": CHROMIUM,
            "header": THUMBNAIL_HEADER,
        }
        try:
            job = await run_job(
                self.config,
                SandboxedRun(
                    identity=identity,
                    writable=run_dir,
                    readonly=(str(self.paths.prefix),),
                    network=True,
                    cgroup=home.cgroup(),
                ),
                script_argv(self.config, "thumbnail", json.dumps(request)),
                timeout=150,
                stdin=(secret + "\n").encode(),
            )
            picture = run_dir / "thumbnail.png"
            if job.returncode != 0 or not picture.is_file():
                log.warning("thumbnail of app %s failed: %s", app_id, job.stderr[-500:])
                return False
            data = picture.read_bytes()
            if not data.startswith(PNG_MAGIC) or len(data) > 5 * 1024 * 1024:
                return False
            target = self.paths.thumbnail(app_id, number)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            with self.sessions.begin() as session:
                version = session.scalars(
                    select(ShowcaseVersion).where(
                        ShowcaseVersion.app_id == app_id, ShowcaseVersion.number == number
                    )
                ).first()
                if version is not None:
                    version.has_thumbnail = True
            return True
        finally:
            self._thumbnail_passes.pop(app_id, None)
            shutil.rmtree(run_dir, ignore_errors=True)

    def _in_background(self, coroutine) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def idle(self) -> None:
        """Wait for background work (thumbnails); used at shutdown and by tests."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)


def count_code_cells(path: Path) -> int:
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
        return sum(1 for cell in notebook.get("cells", []) if cell.get("cell_type") == "code")
    except (OSError, ValueError, AttributeError):
        return 1


def notebook_in(folder: Path, preferred: str) -> str:
    if (folder / preferred).is_file():
        return preferred
    found = sorted(p.name for p in folder.glob("*.ipynb"))
    return found[0] if found else preferred
