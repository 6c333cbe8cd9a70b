"""「JupyterLab で開く」 in a learner's own server: `<base>/sunaba/open?course=..&assignment=..`.

マイコース links here (through the hub's spawn page, which starts the server first when it is
not running). The handler fetches the assignment into the learner's home when it is not there
yet — nbgrader's own 「取得」, with the exchange plugin the server is configured with, as the
learner — and sends the browser to its notebook in JupyterLab. A folder that already exists is
opened as it is, never fetched again over the learner's work. Refusals (not enrolled, unknown
or unreleased assignment, not open yet) come from the exchange and are shown as a Japanese page.

Loaded as a Jupyter server extension by the learners' Jupyter config (see
`sunaba.exchange.learner_files`); a copy runs as `sunaba_portable.exchange.lab_open`, so only
jupyter_server, nbgrader, tornado and the standard library are imported.
"""

from __future__ import annotations

import html
import os
import re
import urllib.parse
from pathlib import Path

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web

NAME = re.compile(r"^[a-z][a-z0-9-]{1,22}$")  # course ids, as the exchange store checks them
ASSIGNMENT = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
SKIPPED = {".ipynb_checkpoints", "feedback"}

PAGE = """<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><title>課題を開けませんでした</title>
<style>body {{ font-family: sans-serif; margin: 2rem; max-width: 44rem; color: #222; }}</style>
</head><body>
<h1>課題を開けませんでした</h1>
<p class="message">{message}</p>
<p>{what}</p>
<p>あなたのホームのファイルは何も変えていません。</p>
<p><a href="{lab}">JupyterLab を開く</a></p>
</body></html>
"""


class OpenError(Exception):
    """A refusal to show the learner (Japanese)."""


def first_notebook(folder: Path) -> Path | None:
    """The assignment's notebook to open: the first at the top of the folder, else the first
    below it (never in feedback or checkpoint folders)."""
    found = [
        p for p in folder.rglob("*.ipynb") if not SKIPPED & set(p.relative_to(folder).parts[:-1])
    ]
    found.sort(key=lambda p: (len(p.relative_to(folder).parts), str(p)))
    return found[0] if found else None


def assignment_manager(settings: dict, serverapp):
    """nbgrader's own assignment-list manager (it reads nbgrader's config as 「取得」 does)."""
    manager = settings.get("assignment_list_manager")
    if manager is None:
        from nbgrader.server_extensions.assignment_list.handlers import AssignmentList

        manager = AssignmentList(parent=serverapp)
        manager.root_dir = serverapp.root_dir
    return manager


def fetch_if_missing(manager, course: str, assignment: str) -> Path:
    """The assignment's folder in the learner's home, fetched first when it does not exist.
    Runs on the server's event loop like nbgrader's own fetch (which changes directory)."""
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange import ExchangeError, ExchangeFactory

    refused = None
    here = os.getcwd()
    try:
        with manager.get_assignment_dir_config():
            config = manager.load_config()
            config.CourseDirectory.course_id = course
            config.CourseDirectory.assignment_id = assignment
            fetch = ExchangeFactory(config=config).FetchAssignment(
                coursedir=CourseDirectory(config=config),
                authenticator=Authenticator(config=config),
                config=config,
            )
            if hasattr(fetch, "local_dir"):
                dest = Path(fetch.local_dir(course, assignment)).resolve()
            else:  # nbgrader's own layout, with the course folder (as Sunaba's plugin)
                dest = (Path(fetch.assignment_dir) / course / assignment).resolve()
            if not dest.exists():
                try:
                    fetch.start()
                except ExchangeError as exc:
                    refused = str(exc)
    finally:
        os.chdir(here)  # nbgrader's chdir does not go back when something raises
    if refused is not None:
        raise OpenError(refused)
    return dest


class OpenHandler(JupyterHandler):
    auth_resource = "contents"

    @web.authenticated
    @authorized
    def get(self):
        course = self.get_query_argument("course", "")
        assignment = self.get_query_argument("assignment", "")
        what = f"コース「{course}」の課題「{assignment}」"
        try:
            if not NAME.match(course) or not ASSIGNMENT.match(assignment):
                raise OpenError(
                    "コース名か課題名の形が正しくありません。マイコースのリンクから開いてください"
                )
            manager = assignment_manager(self.settings, self.serverapp)
            folder = fetch_if_missing(manager, course, assignment)
            root = Path(self.serverapp.root_dir).resolve()
            if not folder.is_relative_to(root):
                raise OpenError(f"課題のフォルダ {folder} が JupyterLab で開ける場所にありません")
        except OpenError as exc:
            self.set_status(400)
            self.set_header("Cache-Control", "no-store")
            self.finish(self.error_page(str(exc), what))
            return
        notebook = first_notebook(folder)
        target = (notebook or folder).relative_to(root).as_posix()
        self.redirect(url_path_join(self.base_url, "lab", "tree", urllib.parse.quote(target)))

    def error_page(self, message: str, what: str) -> str:
        lab = url_path_join(self.base_url, "lab")
        return PAGE.format(
            message=html.escape(message),
            what=html.escape(f"開こうとしたもの: {what}"),
            lab=html.escape(lab),
        )


def _jupyter_server_extension_points():
    return [{"module": __name__}]


def _load_jupyter_server_extension(serverapp):
    web_app = serverapp.web_app
    pattern = url_path_join(web_app.settings["base_url"], "sunaba", "open")
    web_app.add_handlers(".*$", [(pattern, OpenHandler)])
