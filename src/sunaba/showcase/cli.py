"""`sunaba teams …` (hub groups `team-<name>`) and `sunaba showcase …` (published apps).

Teams go straight to the hub's REST API with the `sunaba-admin` service token. App commands ask
the running showcase service (with the admin key it keeps in the state dir), so that the service,
which runs the apps, does the work exactly as it does for the web page.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from pathlib import Path

from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from sunaba.config import ConfigError, SiteConfig, load_config
from sunaba.core.hubclient import AsyncHubClient, HubApiError, HubUnreachable, hub_api_url
from sunaba.core.state import StatePaths, service_token
from sunaba.showcase.handlers import ADMIN_KEY_SCHEME
from sunaba.showcase.paths import ShowcasePaths
from sunaba.showcase.publish_cli import add_publish_command
from sunaba.showcase.records import VISIBILITIES
from sunaba.showcase.teams import (
    TeamError,
    add_members,
    create_team,
    delete_team,
    list_teams,
    remove_members,
)


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    teams = subparsers.add_parser("teams", help="teams that publish apps (hub groups team-<name>)")
    sub = teams.add_subparsers(dest="teams_command", required=True)
    sub.add_parser("list", help="list teams and their members").set_defaults(func=cmd_teams_list)
    create = sub.add_parser("create", help="create a team")
    create.add_argument("name", help="short name: a-z, 0-9 and '-', e.g. hinan-map")
    create.add_argument("--title", default="", help="name shown on pages (Japanese welcome)")
    create.add_argument("--course", default="", help="course id, for the gallery's filter")
    create.add_argument(
        "--members", nargs="*", default=[], metavar="USER", help="hub users to add to the team"
    )
    create.set_defaults(func=cmd_teams_create)
    for name, func, text in (
        ("add", cmd_teams_add, "add hub users to a team"),
        ("remove", cmd_teams_remove, "remove hub users from a team"),
    ):
        parser = sub.add_parser(name, help=text)
        parser.add_argument("name", help="the team's short name")
        parser.add_argument("users", nargs="+", metavar="USER", help="hub user names")
        parser.set_defaults(func=func)
    delete = sub.add_parser("delete", help="delete a team (its apps stay, owned by nobody)")
    delete.add_argument("name", help="the team's short name")
    delete.set_defaults(func=cmd_teams_delete)

    showcase = subparsers.add_parser("showcase", help="published Voilà apps")
    sub = showcase.add_subparsers(dest="showcase_command", required=True)
    sub.add_parser("list", help="list every app").set_defaults(func=cmd_apps_list)
    sub.add_parser("status", help="what runs, with kernel counts").set_defaults(func=cmd_status)
    versions = sub.add_parser("versions", help="the versions of one app")
    versions.add_argument("app", type=int, help="app number, as the gallery shows it")
    versions.set_defaults(func=cmd_versions)
    restore = sub.add_parser("restore", help="serve an earlier version again")
    restore.add_argument("app", type=int, help="app number, as the gallery shows it")
    restore.add_argument("version", type=int, help="version number to make live again")
    restore.set_defaults(func=cmd_restore)
    unpublish = sub.add_parser("unpublish", help="stop an app and take it off the gallery")
    unpublish.add_argument("app", type=int, help="app number, as the gallery shows it")
    unpublish.set_defaults(func=cmd_unpublish)
    purge = sub.add_parser(
        "purge",
        help="delete unpublished apps for good (versions, account, home, cgroup), "
        "or with --leftovers what apps that are not live left on this machine",
    )
    purge.add_argument(
        "apps", type=int, nargs="*", metavar="APP", help="numbers of unpublished apps to delete"
    )
    purge.add_argument(
        "--leftovers",
        action="store_true",
        help="remove the accounts, homes and cgroups of every app that is not live",
    )
    purge.set_defaults(func=cmd_purge)
    visibility = sub.add_parser("visibility", help="who may open an app")
    visibility.add_argument("app", type=int, help="app number, as the gallery shows it")
    visibility.add_argument("visibility", choices=VISIBILITIES, help="who may open the app")
    visibility.set_defaults(func=cmd_visibility)
    add_publish_command(sub)


# -- plumbing --------------------------------------------------------------------------------


def _config(args) -> SiteConfig:
    return load_config(Path(args.config) if args.config else None)


def _hub(config: SiteConfig) -> AsyncHubClient:
    token = service_token(StatePaths.from_config(config), "sunaba-admin")
    return AsyncHubClient(hub_api_url(config), token)


def _run(coroutine) -> int:
    try:
        return asyncio.run(coroutine)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
    except TeamError as exc:
        print(exc, file=sys.stderr)
    except HubApiError as exc:
        print(f"ハブが要求を断りました ({exc.status}): {exc.message}", file=sys.stderr)
    except HubUnreachable as exc:
        print(
            f"ハブに接続できません（sunaba up で起動していますか？）: {exc.reason}", file=sys.stderr
        )
    except (OSError, KeyError) as exc:
        print(f"ハブに接続できません（sunaba up で起動していますか？）: {exc}", file=sys.stderr)
    return 1


async def _service(config: SiteConfig, method: str, path: str, body=None):
    paths = ShowcasePaths.from_config(config)
    try:
        info = json.loads(paths.service_info.read_text())
        key = paths.admin_key.read_text().strip()
    except (OSError, ValueError) as exc:
        raise OSError(
            "ショーケースのサービスが動いていません（sunaba up で起動してください）"
        ) from exc
    try:
        response = await AsyncHTTPClient().fetch(
            info["url"] + path,
            method=method,
            headers={
                "Authorization": f"{ADMIN_KEY_SCHEME} {key}",
                "Content-Type": "application/json",
            },
            body=json.dumps(body) if body is not None else None,
            allow_nonstandard_methods=True,
            request_timeout=600,
        )
    except HTTPClientError as exc:
        message = ""
        if exc.response is not None:
            with contextlib.suppress(ValueError):
                message = json.loads(exc.response.body).get("message", "")
        raise HubApiError(exc.code, message or str(exc)) from exc
    return json.loads(response.body)


def _print_app(app: dict) -> None:
    live = f"v{app['live_version']}" if app["live_version"] else "-"
    print(
        f"{app['id']:>4}  {app['status']:<11} {live:<5} {app['visibility']:<7} "
        f"{app['team']:<16} {app['title']}"
    )


# -- teams -------------------------------------------------------------------------------------


def cmd_teams_list(args) -> int:
    async def run() -> int:
        for team in await list_teams(_hub(_config(args))):
            course = f" [{team.course}]" if team.course else ""
            print(f"{team.name:<20} {team.label}{course}: {', '.join(team.members) or '-'}")
        return 0

    return _run(run())


def cmd_teams_create(args) -> int:
    async def run() -> int:
        hub = _hub(_config(args))
        team = await create_team(hub, args.name, args.title, args.course)
        if args.members:
            await add_members(hub, team.name, args.members)
        print(f"チーム「{team.name}」を作りました。")
        return 0

    return _run(run())


def cmd_teams_add(args) -> int:
    async def run() -> int:
        await add_members(_hub(_config(args)), args.name, args.users)
        print(f"チーム「{args.name}」に追加しました: {', '.join(args.users)}")
        return 0

    return _run(run())


def cmd_teams_remove(args) -> int:
    async def run() -> int:
        await remove_members(_hub(_config(args)), args.name, args.users)
        print(f"チーム「{args.name}」から外しました: {', '.join(args.users)}")
        return 0

    return _run(run())


def cmd_teams_delete(args) -> int:
    async def run() -> int:
        await delete_team(_hub(_config(args)), args.name)
        print(f"チーム「{args.name}」を削除しました。")
        return 0

    return _run(run())


# -- apps --------------------------------------------------------------------------------------


def cmd_apps_list(args) -> int:
    async def run() -> int:
        for app in await _service(_config(args), "GET", "api/apps"):
            _print_app(app)
        return 0

    return _run(run())


def cmd_status(args) -> int:
    async def run() -> int:
        print(json.dumps(await _service(_config(args), "GET", "api/status"), indent=2))
        return 0

    return _run(run())


def cmd_versions(args) -> int:
    async def run() -> int:
        app = await _service(_config(args), "GET", f"api/apps/{args.app}")
        for version in app["versions"]:
            mark = "*" if version["number"] == app["live_version"] else " "
            print(
                f"{mark} v{version['number']:<3} {version['published_at']}  "
                f"{version['published_by']:<16} {version['source_path']} "
                f"({len(version['files'])} files)"
            )
        return 0

    return _run(run())


def cmd_restore(args) -> int:
    async def run() -> int:
        app = await _service(
            _config(args), "POST", f"api/apps/{args.app}/restore", {"version": args.version}
        )
        _print_app(app)
        return 0

    return _run(run())


def cmd_unpublish(args) -> int:
    async def run() -> int:
        _print_app(await _service(_config(args), "DELETE", f"api/apps/{args.app}"))
        return 0

    return _run(run())


def cmd_purge(args) -> int:
    if not args.apps and not args.leftovers:
        print(
            "削除するアプリの番号か --leftovers を指定してください"
            "（例: sunaba showcase purge 12）。",
            file=sys.stderr,
        )
        return 2

    async def run() -> int:
        config = _config(args)
        for app_id in args.apps:
            gone = await _service(config, "POST", f"api/apps/{app_id}/purge", {})
            print(
                f"アプリ {gone['id']}「{gone['title']}」を完全に削除しました（{gone['account']}）。"
            )
        if args.leftovers:
            removed = (await _service(config, "POST", "api/leftovers/purge", {}))["removed"]
            if removed:
                print(f"公開中でないアプリのアカウントを削除しました: {', '.join(removed)}")
            else:
                print("削除するものはありませんでした。")
        return 0

    return _run(run())


def cmd_visibility(args) -> int:
    async def run() -> int:
        app = await _service(
            _config(args), "PATCH", f"api/apps/{args.app}", {"visibility": args.visibility}
        )
        _print_app(app)
        return 0

    return _run(run())
