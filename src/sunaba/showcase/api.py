"""The showcase's JSON API (`<prefix>api/…`): what the publish form, `sunaba showcase publish`
and the admin CLI call. Described for people in docs/reference/showcase-api.md.

Every handler answers JSON, errors too: `{"status", "message" (Japanese), …details}` (see
`ShowcaseHandler.write_error`). The caller is a hub user (their token or the OAuth cookie) or the
admin CLI (its key). What a caller may do with an app (publish for a team, manage it) is decided
in `Showcase`; only the admin-only endpoints check here.
"""

from __future__ import annotations

import json

from tornado import web

from sunaba.showcase.access import can_manage, can_view
from sunaba.showcase.handlers import ShowcaseHandler
from sunaba.showcase.messages import ShowcaseError, left_out_lines
from sunaba.showcase.publish_request import PublishRequest
from sunaba.showcase.records import ShowcaseApp
from sunaba.showcase.teams import Viewer, list_teams


def app_json(app: ShowcaseApp, prefix: str) -> dict:
    live = app.version(app.live_version)
    return {
        "id": app.id,
        "title": app.title,
        "description": app.description,
        "team": app.team,
        "course": app.course,
        "visibility": app.visibility,
        "status": app.status,
        "live_version": app.live_version,
        "url": f"{prefix}apps/{app.id}/",
        "thumbnail": f"{prefix}thumbs/{app.id}/v{live.number}.png"
        if live and live.has_thumbnail
        else None,
        "updated_at": (live.published_at if live else app.updated_at).isoformat(),
        "versions": [
            {
                "number": v.number,
                "published_by": v.published_by,
                "published_at": v.published_at.isoformat(),
                "source_path": v.source_path,
                "files": v.files,
                "size_bytes": v.size_bytes,
                "has_thumbnail": v.has_thumbnail,
            }
            for v in app.versions
        ],
    }


NO_ACCESS = (
    "ハブのトークンでショーケースを使う権限を確かめられませんでした。JupyterLab のターミナルから"
    "実行しているときは、サーバーを再起動してから、もう一度試してください。"
)


class APIHandler(ShowcaseHandler):
    def get_login_url(self):
        raise web.HTTPError(403)

    def require_viewer(self) -> Viewer:
        """No hub user behind the request: no token, or one without the showcase's scope."""
        if self.viewer is None:
            raise ShowcaseError(NO_ACCESS, status=403, reason="no_access")
        return self.viewer

    def body(self) -> dict:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError as exc:
            raise ShowcaseError("JSON として読めません。") from exc
        if not isinstance(data, dict):
            raise ShowcaseError("JSON のオブジェクトを送ってください。")
        return data

    def send(self, data, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data, ensure_ascii=False, default=str))


class AppsAPI(APIHandler):
    async def get(self):
        apps = self.showcase.visible_apps(self.viewer)
        self.send([app_json(a, self.prefix) for a in apps])

    async def post(self):
        viewer = self.require_viewer()
        data = self.body()
        app_id = data.get("app_id")
        if app_id is not None and not str(app_id).isdigit():
            raise ShowcaseError(
                "公開先のアプリの番号（app_id）を数で指定してください。", reason="app_id"
            )
        request = PublishRequest(
            notebook=str(data.get("notebook", "")),
            title=str(data.get("title", "")),
            description=str(data.get("description", "")),
            team=str(data.get("team", "")),
            visibility=str(data.get("visibility", "team")),
            app_id=int(app_id) if app_id is not None else None,
        )
        app = await self.showcase.publish(viewer, request, self.author_token())
        body = app_json(app, self.prefix)
        body["left_out"] = self.showcase.left_out(app.id, app.live_version)
        body["left_out_messages"] = left_out_lines(body["left_out"])
        self.send(body, 201)


class AppAPI(APIHandler):
    async def get(self, app_id: str):
        app = self.showcase.app(int(app_id))
        if app is None or not (can_view(app, self.viewer) or can_manage(app, self.viewer)):
            raise web.HTTPError(404)
        self.send(app_json(app, self.prefix))

    async def patch(self, app_id: str):
        viewer = self.require_viewer()
        data = self.body()
        app = await self.showcase.change(
            viewer,
            int(app_id),
            visibility=data.get("visibility"),
            title=data.get("title"),
            description=data.get("description"),
        )
        self.send(app_json(app, self.prefix))

    async def delete(self, app_id: str):
        viewer = self.require_viewer()
        app = await self.showcase.unpublish(viewer, int(app_id))
        self.send(app_json(app, self.prefix))


class RestoreAPI(APIHandler):
    async def post(self, app_id: str):
        viewer = self.require_viewer()
        number = self.body().get("version")
        if not isinstance(number, int):
            raise ShowcaseError("戻す版の番号（version）を数で指定してください。")
        app = await self.showcase.restore(viewer, int(app_id), number)
        self.send(app_json(app, self.prefix))


class PurgeAPI(APIHandler):
    """Admins: delete an app that is no longer live, for good (`sunaba showcase purge`)."""

    async def post(self, app_id: str):
        self.send(await self.showcase.purge(self.require_viewer(), int(app_id)))


class LeftoversAPI(APIHandler):
    """Admins: remove accounts, homes and cgroups of apps that are not live."""

    async def post(self):
        viewer = self.require_viewer()
        if not viewer.admin:
            raise web.HTTPError(403)
        self.send({"removed": await self.showcase.purge_leftovers()})


class NotebooksAPI(APIHandler):
    async def get(self):
        viewer = self.require_viewer()
        self.send(await self.showcase.notebooks(viewer, self.author_token()))


class TeamsAPI(APIHandler):
    async def get(self):
        viewer = self.require_viewer()
        teams = await list_teams(self.showcase.hub)
        shown = teams if viewer.can_manage_teams else [t for t in teams if viewer.in_team(t.name)]
        self.send(
            [
                {"name": t.name, "title": t.title, "course": t.course, "members": list(t.members)}
                for t in shown
            ]
        )


class StatusAPI(APIHandler):
    """For the admin CLI and tests: what runs, and each app's kernel counts."""

    async def get(self):
        viewer = self.require_viewer()
        if not viewer.admin:
            raise web.HTTPError(403)
        runner = self.showcase.runner
        apps = {}
        for app_id, process in list(runner.live.items()):
            status = await runner.status(process)
            apps[str(app_id)] = {
                "version": process.version,
                "alive": process.alive,
                **(status or {}),
            }
        self.send({"apps": apps, "failures": {str(k): v for k, v in runner.failures.items()}})
