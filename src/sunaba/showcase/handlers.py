"""Pages (Japanese, server-rendered forms) and the JSON API of the showcase service."""

from __future__ import annotations

import hmac
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from jupyterhub.services.auth import HubOAuthenticated
from tornado import web
from tornado.escape import url_escape

from sunaba.showcase.access import can_manage, can_view
from sunaba.showcase.core import Showcase
from sunaba.showcase.messages import ShowcaseError, left_out_lines
from sunaba.showcase.publish_request import PublishRequest
from sunaba.showcase.records import VISIBILITY_LABELS
from sunaba.showcase.teams import (
    TeamError,
    Viewer,
    add_members,
    create_team,
    list_teams,
    remove_members,
)

ADMIN_KEY_SCHEME = "sunaba-showcase-admin"
TOKYO = ZoneInfo("Asia/Tokyo")
ERROR_TITLES = {
    400: "リクエストが正しくありません",
    403: "このページを見る権限がありません",
    404: "ページが見つかりません",
    409: "まだ準備ができていません",
    422: "公開できませんでした",
    500: "サーバーでエラーが起きました",
    502: "アプリが応答しません",
    503: "アプリを起動しています",
}


def local_time(moment: datetime | None) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(TOKYO)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


class ShowcaseHandler(HubOAuthenticated, web.RequestHandler):
    viewer: Viewer | None = None

    @property
    def showcase(self) -> Showcase:
        return self.settings["showcase"]

    @property
    def prefix(self) -> str:
        return self.settings["service_prefix"]

    async def prepare(self):
        await self.identify()

    async def identify(self) -> Viewer | None:
        """Who is asking: the CLI's admin key, a hub user's token or the OAuth cookie."""
        self.viewer = None
        scheme, _, key = self.request.headers.get("Authorization", "").partition(" ")
        if scheme == ADMIN_KEY_SCHEME:
            if key and hmac.compare_digest(key.encode(), self.settings["admin_key"].encode()):
                self.viewer = Viewer(name="(admin cli)", admin=True)
                self._hub_auth_user_cache = {"name": self.viewer.name, "kind": "admin-cli"}
                return self.viewer
            raise web.HTTPError(403)
        user = await self.hub_auth.get_user(self, sync=False)
        self._hub_auth_user_cache = user
        if user and user.get("kind", "user") == "user":
            self.viewer = await self.showcase.viewer(user["name"])
        return self.viewer

    def author_token(self) -> str | None:
        """The asking user's own hub token (their OAuth cookie or API token): on Kubernetes it
        opens their own server to read the notebook they publish, and nothing else."""
        if self.viewer is None or self.viewer.name == "(admin cli)":
            return None
        return self.hub_auth.get_token(self)

    def require_viewer(self) -> Viewer:
        if self.viewer is None:
            raise web.HTTPError(403)
        return self.viewer

    def render_page(self, template: str, **namespace) -> None:
        env = self.settings["jinja"]
        hub_base = self.settings["hub_base_url"]
        html = env.get_template(template).render(
            prefix=self.prefix,
            hub_base=hub_base,
            site_name=self.settings["site_name"],
            viewer=self.viewer,
            xsrf_form_html=self.xsrf_form_html,
            visibility_labels=VISIBILITY_LABELS,
            local_time=local_time,
            can_manage=can_manage,
            can_view=can_view,
            **namespace,
        )
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("X-Frame-Options", "SAMEORIGIN")
        self.finish(html)

    def write_error(self, status_code: int, **kwargs):
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = getattr(exc, "log_message", None) or ""
        if isinstance(exc, ShowcaseError):
            message = exc.message
        if self.request.path.startswith(self.prefix + "api/"):
            self.set_header("Content-Type", "application/json")
            body = {"status": status_code, "message": message or ERROR_TITLES.get(status_code, "")}
            if isinstance(exc, ShowcaseError):
                body.update(exc.details)
            self.finish(json.dumps(body, ensure_ascii=False, default=str))
            return
        self.render_page(
            "error.html",
            status=status_code,
            title=ERROR_TITLES.get(status_code, "エラーが起きました"),
            message=message if isinstance(exc, ShowcaseError) else "",
            details=exc.details if isinstance(exc, ShowcaseError) else {},
        )

    def _handle_request_exception(self, e):
        if isinstance(e, ShowcaseError):
            self.send_error(e.status, exc_info=(type(e), e, e.__traceback__))
            return
        super()._handle_request_exception(e)


# -- pages ---------------------------------------------------------------------------------


class GalleryPage(ShowcaseHandler):
    @web.authenticated
    async def get(self):
        apps = self.showcase.visible_apps(self.viewer)
        teams = {t.name: t for t in await list_teams(self.showcase.hub)}
        team_filter = self.get_argument("team", "")
        course_filter = self.get_argument("course", "")
        shown = [
            app
            for app in apps
            if (not team_filter or app.team == team_filter)
            and (not course_filter or app.course == course_filter)
        ]
        self.render_page(
            "gallery.html",
            apps=shown,
            teams=teams,
            team_names=sorted({a.team for a in apps}),
            courses=sorted({a.course for a in apps if a.course}),
            team_filter=team_filter,
            course_filter=course_filter,
            notice=self.get_argument("notice", ""),
        )


class PublishPage(ShowcaseHandler):
    async def _form(self, **extra) -> None:
        viewer = self.require_viewer()
        teams = [t for t in await list_teams(self.showcase.hub) if viewer.in_team(t.name)]
        try:
            notebooks = await self.showcase.notebooks(viewer, self.author_token())
            notebooks_error = ""
        except ShowcaseError as exc:
            notebooks, notebooks_error = [], exc.message
        apps = [a for a in self.showcase.apps() if a.team in viewer.teams and a.status != "draft"]
        values = {
            "notebook": self.get_argument("notebook", ""),
            "title": "",
            "description": "",
            "team": teams[0].name if teams else "",
            "visibility": "team",
            "app_id": self.get_argument("app", ""),
        }
        values.update(extra.pop("values", {}))
        self.render_page(
            "publish.html",
            teams=teams,
            notebooks=notebooks,
            notebooks_error=notebooks_error,
            apps=apps,
            values=values,
            **extra,
        )

    @web.authenticated
    async def get(self):
        await self._form()

    @web.authenticated
    async def post(self):
        viewer = self.require_viewer()
        app_id = self.get_body_argument("app_id", "")
        values = {
            "notebook": self.get_body_argument("notebook", ""),
            "title": self.get_body_argument("title", ""),
            "description": self.get_body_argument("description", ""),
            "team": self.get_body_argument("team", ""),
            "visibility": self.get_body_argument("visibility", "team"),
            "app_id": app_id,
        }
        request = PublishRequest(
            notebook=values["notebook"],
            title=values["title"],
            description=values["description"],
            team=values["team"],
            visibility=values["visibility"],
            app_id=int(app_id) if app_id.isdigit() else None,
        )
        try:
            app = await self.showcase.publish(viewer, request, self.author_token())
        except ShowcaseError as exc:
            self.set_status(exc.status)
            await self._form(values=values, error=exc)
            return
        self.redirect(f"{self.prefix}manage/{app.id}?published=1")


class ManagePage(ShowcaseHandler):
    @web.authenticated
    async def get(self, app_id: str):
        app = self.showcase.app_for_manager(int(app_id), self.viewer)
        self.render_page(
            "manage.html",
            app=app,
            left_out=left_out_lines(self.showcase.left_out(app.id, app.live_version)),
            published=self.get_argument("published", ""),
            notice=self.get_argument("notice", ""),
        )

    @web.authenticated
    async def post(self, app_id: str):
        viewer = self.require_viewer()
        action = self.get_body_argument("action", "")
        number = int(app_id)
        if action == "visibility":
            await self.showcase.change(
                viewer, number, visibility=self.get_body_argument("visibility", "")
            )
            notice = "公開範囲を変更しました。"
        elif action == "details":
            await self.showcase.change(
                viewer,
                number,
                title=self.get_body_argument("title", ""),
                description=self.get_body_argument("description", ""),
            )
            notice = "タイトルと説明を変更しました。"
        elif action == "restore":
            version = int(self.get_body_argument("version", "0") or 0)
            await self.showcase.restore(viewer, number, version)
            notice = f"第 {version} 版に戻しました。"
        elif action == "unpublish":
            await self.showcase.unpublish(viewer, number)
            self.redirect(f"{self.prefix}?notice=unpublished")
            return
        else:
            raise web.HTTPError(400)
        self.redirect(f"{self.prefix}manage/{number}?notice={url_escape(notice)}")


class TeamsPage(ShowcaseHandler):
    async def _render(self, **extra) -> None:
        viewer = self.require_viewer()
        teams = await list_teams(self.showcase.hub)
        shown = teams if viewer.can_manage_teams else [t for t in teams if viewer.in_team(t.name)]
        self.render_page("teams.html", teams=shown, **extra)

    @web.authenticated
    async def get(self):
        await self._render(notice=self.get_argument("notice", ""))

    @web.authenticated
    async def post(self):
        viewer = self.require_viewer()
        if not viewer.can_manage_teams:
            raise ShowcaseError("チームを作れるのは講師と管理者だけです。", status=403)
        action = self.get_body_argument("action", "")
        name = self.get_body_argument("name", "")
        users = [u for u in self.get_body_argument("users", "").replace("、", ",").split(",")]
        users = [u.strip() for u in users if u.strip()]
        try:
            if action == "create":
                await create_team(
                    self.showcase.hub,
                    name,
                    self.get_body_argument("title", ""),
                    self.get_body_argument("course", ""),
                )
                if users:
                    await add_members(self.showcase.hub, name, users)
                notice = f"チーム「{name}」を作りました。"
            elif action == "add":
                await add_members(self.showcase.hub, name, users)
                notice = f"チーム「{name}」にメンバーを追加しました。"
            elif action == "remove":
                await remove_members(self.showcase.hub, name, users)
                notice = f"チーム「{name}」からメンバーを外しました。"
            else:
                raise web.HTTPError(400)
        except TeamError as exc:
            self.set_status(400)
            await self._render(error=str(exc))
            return
        self.showcase.forget_viewers()
        self.redirect(f"{self.prefix}teams?notice={url_escape(notice)}")


class ThumbnailHandler(ShowcaseHandler):
    async def get(self, app_id: str, number: str):
        app = self.showcase.app(int(app_id))
        if app is None or not (can_view(app, self.viewer) or can_manage(app, self.viewer)):
            raise web.HTTPError(404)
        path = self.showcase.paths.thumbnail(app.id, int(number))
        if not path.is_file():
            raise web.HTTPError(404)
        self.set_header("Content-Type", "image/png")
        self.set_header("Cache-Control", "private, max-age=300")
        self.finish(path.read_bytes())
