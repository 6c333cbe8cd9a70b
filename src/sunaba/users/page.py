"""The admins' roster page, a page of the hub itself: `/hub/sunaba/roster`.

It runs in the hub process (an extra handler, like `sunaba.hub.live_services`), so the hub's own
login, admin flag, XSRF check and Japanese page layout apply; no service of its own. An admin
uploads a roster, sees what would change (`apply_roster_file` with `dry_run`), and confirms; the
import is the very function `sunaba users import` runs. The upload waits for the confirmation in
a 0700 folder of the state dir; temporary passwords go to a 0600 file there and the page only
names that file.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from pathlib import Path

from jupyterhub import orm
from jupyterhub.handlers.base import BaseHandler
from tornado import web

from sunaba.config.schema import SiteConfig
from sunaba.core.state import StatePaths
from sunaba.users.apply import course_groups
from sunaba.users.flow import RosterOutcome, apply_roster_file, summary_lines
from sunaba.users.template import csv_template, xlsx_template

ROUTE = r"/sunaba/roster"
TEMPLATE_ROUTE = r"/sunaba/roster/template\.(csv|xlsx)"
UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
UPLOAD_SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm")
MAX_UPLOAD = 10 * 1024 * 1024
UPLOAD_LIFETIME = 3600
TEMPLATE_FILE = Path(__file__).resolve().parent / "templates" / "roster.html"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def upload_dir(config: SiteConfig) -> Path:
    return StatePaths.from_config(config).root / "roster-uploads"


def keep_upload(config: SiteConfig, name: str, data: bytes) -> Path:
    """Store an uploaded roster (0600, in a 0700 folder) until the admin confirms it."""
    folder = upload_dir(config)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    for old in folder.iterdir():  # uploads never confirmed
        if old.stat().st_mtime < time.time() - UPLOAD_LIFETIME:
            old.unlink(missing_ok=True)
    suffix = Path(name).suffix.lower()
    suffix = suffix if suffix in UPLOAD_SUFFIXES else ".csv"
    target = folder / f"{secrets.token_hex(16)}{suffix}"
    target.touch(mode=0o600, exist_ok=False)
    target.write_bytes(data)
    return target


def find_upload(config: SiteConfig, upload_id: str) -> Path | None:
    if not UPLOAD_ID.match(upload_id):
        return None
    found = [p for p in upload_dir(config).glob(f"{upload_id}.*") if p.suffix in UPLOAD_SUFFIXES]
    return found[0] if found else None


def membership_changes(db, outcome: RosterOutcome) -> list[dict]:
    """Per course: the hub group, whether it exists yet, and who the import would add."""
    changes = []
    for group_name, members in course_groups(outcome.roster.entries).items():
        group = orm.Group.find(db, name=group_name)
        present = {user.name for user in group.users} if group is not None else set()
        changes.append(
            {
                "course": group_name.removeprefix("nbgrader-"),
                "group": group_name,
                "exists": group is not None,
                "added": [name for name in dict.fromkeys(members) if name not in present],
                "already": [name for name in dict.fromkeys(members) if name in present],
            }
        )
    return changes


class RosterPage(BaseHandler):
    def initialize(self, site_config: SiteConfig) -> None:
        self.site_config = site_config

    def admin_only(self) -> None:
        user = self.current_user
        if user is None:
            raise web.HTTPError(403)
        if not user.admin:
            raise web.HTTPError(403, "roster page: admins only")

    async def show(self, **namespace) -> None:
        env = self.settings["jinja2_env"]
        template = env.from_string(TEMPLATE_FILE.read_text(encoding="utf-8"))
        values = dict(self.template_namespace)
        values["xsrf_token"] = self.xsrf_token.decode("ascii")
        values.update(page_url=self.request.path, **namespace)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(await template.render_async(**values))

    @web.authenticated
    async def get(self):
        self.admin_only()
        await self.show(step="upload")

    @web.authenticated
    async def post(self):
        self.admin_only()
        if self.get_body_argument("action", "") == "apply":
            await self.apply()
        else:
            await self.preview()

    async def preview(self) -> None:
        files = self.request.files.get("roster") or []
        if not files or not files[0]["body"]:
            self.set_status(400)
            await self.show(step="upload", error="名簿ファイルを選んでください。")
            return
        upload = files[0]
        if len(upload["body"]) > MAX_UPLOAD:
            self.set_status(400)
            await self.show(step="upload", error="ファイルが大きすぎます（10 MB まで）。")
            return
        path = keep_upload(self.site_config, upload["filename"], upload["body"])
        outcome = await asyncio.to_thread(apply_roster_file, self.site_config, path, dry_run=True)
        if not outcome.roster.ok or outcome.result is None:
            path.unlink(missing_ok=True)
            self.set_status(422)
            await self.show(step="problems", outcome=outcome, filename=upload["filename"])
            return
        await self.show(
            step="preview",
            outcome=outcome,
            filename=upload["filename"],
            upload_id=path.stem,
            memberships=membership_changes(self.db, outcome),
        )

    async def apply(self) -> None:
        path = find_upload(self.site_config, self.get_body_argument("upload", ""))
        if path is None:
            self.set_status(400)
            await self.show(
                step="upload",
                error="確認した名簿が見つかりません（時間が経ったか、取り込み済みです）。"
                "もう一度ファイルを選んでください。",
            )
            return
        try:
            outcome = await asyncio.to_thread(apply_roster_file, self.site_config, path)
        finally:
            path.unlink(missing_ok=True)
        self.log.info("roster imported from the page by %s", self.current_user.name)
        if not outcome.roster.ok or outcome.result is None:
            self.set_status(422 if not outcome.roster.ok else 500)
            await self.show(step="problems", outcome=outcome, filename="")
            return
        await self.show(
            step="done",
            outcome=outcome,
            lines=summary_lines(outcome.roster, outcome.result),
        )


class RosterTemplate(BaseHandler):
    @web.authenticated
    async def get(self, kind: str):
        user = self.current_user
        if user is None or not user.admin:
            raise web.HTTPError(403)
        if kind == "xlsx":
            data, media, name = xlsx_template(), XLSX_TYPE, "roster.xlsx"
        else:
            data, media, name = csv_template(), "text/csv; charset=utf-8", "roster.csv"
        self.set_header("Content-Type", media)
        self.set_header("Content-Disposition", f'attachment; filename="{name}"')
        self.finish(data)


def handlers(config: SiteConfig) -> list[tuple]:
    return [
        (TEMPLATE_ROUTE, RosterTemplate),
        (ROUTE, RosterPage, {"site_config": config}),
    ]
