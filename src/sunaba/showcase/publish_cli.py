"""`sunaba showcase publish NOTEBOOK --team TEAM --title …`: publish from a terminal.

Run by a team member in their own JupyterLab terminal (or anywhere with their hub token). It
sends the JSON API's publish request (`POST <showcase>/api/apps`, see
docs/reference/showcase-api.md) with the member's own token; the showcase answers it with the
same code as the publish form: snapshot, headless check, new version, start. Messages are in
Japanese.

In a learner's server the token is the server's own (JUPYTERHUB_API_TOKEN, which may call the
showcase as its owner: `showcase.hub.server_scopes`) and the showcase's address comes from the
server's environment (`showcase.hub.URL_ENV`); elsewhere `--url` or the hub's service model.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import TextIO

from sunaba.showcase.hub import URL_ENV
from sunaba.showcase.paths import SERVICE_NAME
from sunaba.showcase.records import VISIBILITIES, VISIBILITY_LABELS

PUBLISH_TIMEOUT = 3600


class PublishFailed(Exception):
    """What to tell the person (Japanese), with the service's answer when there is one."""

    def __init__(self, message: str, answer: dict | None = None):
        super().__init__(message)
        self.message = message
        self.answer = answer or {}


def add_publish_command(sub: argparse._SubParsersAction) -> None:
    publish = sub.add_parser(
        "publish",
        help="publish a notebook as a team's app (run in your own JupyterLab terminal; the same "
        "check and versioning as the publish page)",
    )
    publish.add_argument("notebook", metavar="NOTEBOOK", help="the .ipynb file to publish")
    publish.add_argument("--team", required=True, help="the team's short name")
    publish.add_argument("--title", required=True, help="the app's title (up to 100 characters)")
    publish.add_argument("--description", default="", help="a short description")
    publish.add_argument(
        "--visibility", choices=VISIBILITIES, default="team", help="who may open the app"
    )
    publish.add_argument(
        "--app", type=int, metavar="ID", help="publish as a new version of this app"
    )
    publish.add_argument(
        "--url", default="", help="the showcase's base URL (default: asked from the hub)"
    )
    publish.set_defaults(func=cmd_publish)


def notebook_in_home(notebook: str, home: Path) -> str:
    """The notebook's path relative to the home folder, as the showcase takes it."""
    path = Path(notebook).expanduser()
    path = path if path.is_absolute() else Path.cwd() / path
    path = Path(os.path.normpath(path))
    home = Path(os.path.normpath(home))
    try:
        relative = path.relative_to(home)
    except ValueError as exc:
        raise PublishFailed(
            f"「{notebook}」はホームフォルダー（{home}）の外にあります。"
            "ホームフォルダーの中のノートブックを指定してください。"
        ) from exc
    if path.suffix != ".ipynb":
        raise PublishFailed(f"「{notebook}」はノートブック（.ipynb ファイル）ではありません。")
    if not path.is_file():
        raise PublishFailed(f"ノートブック「{notebook}」が見つかりません。")
    return relative.as_posix()


def _open(request: urllib.request.Request, timeout: float):
    # Loopback or in-cluster: never through an http_proxy from the environment.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return opener.open(request, timeout=timeout)


NO_SHOWCASE_URL = (
    "ショーケースの場所が分かりません。ハブのコントロールパネルで JupyterLab のサーバーを"
    "いったん停止して起動し直してから、もう一度実行してください。直らないときは、メニュー"
    "「ショーケース」→「ノートブックを公開…」から公開できます。"
)


def find_showcase(api_url: str, token: str) -> str:
    """The showcase's own base URL (with its prefix), from the hub's service model."""
    request = urllib.request.Request(f"{api_url.rstrip('/')}/services/{SERVICE_NAME}")  # noqa: S310
    request.add_header("Authorization", f"token {token}")
    try:
        with _open(request, 30) as response:
            model = json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        if exc.code in (403, 404):  # the token may not look it up (a learner's server token)
            raise PublishFailed(NO_SHOWCASE_URL) from exc
        raise PublishFailed(
            f"ハブからショーケースの場所を教えてもらえませんでした（HTTP {exc.code}）。"
        ) from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise PublishFailed("ハブに接続できません。") from exc
    if not isinstance(model, dict) or not model.get("url"):
        raise PublishFailed("ショーケースのサービスが動いていません。管理者に連絡してください。")
    parts = urllib.parse.urlsplit(model["url"])
    prefix = model.get("prefix") or f"/services/{SERVICE_NAME}/"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, prefix, "", ""))


def showcase_base(args: argparse.Namespace, api_url: str, token: str) -> str:
    """`--url`, else the server's environment, else the hub's service model."""
    if args.url:
        return args.url
    if os.environ.get(URL_ENV):
        return os.environ[URL_ENV]
    if not api_url:
        raise PublishFailed(NO_SHOWCASE_URL)
    return find_showcase(api_url, token)


def post_publish(base_url: str, token: str, body: dict) -> dict:
    """`POST api/apps`: the app's JSON on success; PublishFailed with the answer otherwise."""
    request = urllib.request.Request(  # noqa: S310 (the hub's or the caller's URL)
        base_url.rstrip("/") + "/api/apps",
        data=json.dumps(body).encode(),
        method="POST",
    )
    request.add_header("Authorization", f"token {token}")
    request.add_header("Content-Type", "application/json")
    try:
        with _open(request, PUBLISH_TIMEOUT) as response:
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        try:
            answer = json.loads(exc.read().decode("utf-8"))
        except ValueError:
            answer = {}
        message = answer.get("message") if isinstance(answer, dict) else ""
        if exc.code == 403 and not message:
            message = (
                "ショーケースを使う権限がありません（ログインし直すか、講師に確認してください）。"
            )
        raise PublishFailed(
            message or f"公開できませんでした（HTTP {exc.code}）。", answer
        ) from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise PublishFailed("ショーケースに接続できません。") from exc


def result_lines(app: dict) -> list[str]:
    lines = [
        f"公開しました: 「{app.get('title', '')}」 第 {app.get('live_version')} 版"
        f"（チーム {app.get('team', '')}、公開範囲 {VISIBILITY_LABELS.get(app.get('visibility'), '')}）",
        f"アプリのアドレス: {app.get('url', '')}",
    ]
    live = [v for v in app.get("versions", []) if v.get("number") == app.get("live_version")]
    if live:
        lines.append("写し取ったファイル: " + "、".join(live[0].get("files", [])))
    left_out = app.get("left_out_messages") or []
    if left_out:
        lines.append("公開に含めなかったファイル:")
        lines += [f"  {line}" for line in left_out]
    return lines


def failure_lines(error: PublishFailed) -> list[str]:
    lines = [f"エラー: {error.message}"]
    answer = error.answer
    if answer.get("source"):
        lines.append(f"--- {answer.get('number')} 番目のコードセル ---")
        lines.append(str(answer["source"]))
    left_out = answer.get("left_out") or []
    if left_out:
        lines.append("公開に含めなかったファイル:")
        lines += [f"  {line}" for line in left_out]
    return lines


def run_publish(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    token = os.environ.get("JUPYTERHUB_API_TOKEN", "")
    api_url = os.environ.get("JUPYTERHUB_API_URL", "")
    try:
        if not token:
            raise PublishFailed(
                "ハブのトークンが見つかりません。JupyterLab の「ターミナル」から実行してください。"
            )
        notebook = notebook_in_home(args.notebook, Path.home())
        base_url = showcase_base(args, api_url, token)
        print(
            f"「{notebook}」を公開しています。ノートブックとデータを写し取り、"
            "ブラウザーなしで最初から最後まで実行して確かめます（数秒〜1 分ほどかかります）…",
            file=out,
            flush=True,
        )
        body = {
            "notebook": notebook,
            "title": args.title,
            "description": args.description,
            "team": args.team,
            "visibility": args.visibility,
        }
        if args.app is not None:
            body["app_id"] = args.app
        app = post_publish(base_url, token, body)
    except PublishFailed as exc:
        for line in failure_lines(exc):
            print(line, file=err)
        return 1
    for line in result_lines(app):
        print(line, file=out)
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    return run_publish(args, sys.stdout, sys.stderr)
