"""The admins' roster page, served by the roster service (`sunaba.users.roster_service`) at
`/services/roster/`.

An admin uploads a roster, sees what would change (`apply_roster_file` with `dry_run`), and
confirms; the import is the very function `sunaba users import` runs. The hub identifies the
caller on every request (hub OAuth) and the page itself refuses anyone who is not a hub admin,
whatever their token may reach. The upload waits for the confirmation in a 0700 folder of the
state dir; temporary passwords go to a 0600 file there and the page only names that file.
Which course groups exist and who is in them comes from the hub's REST API.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from collections.abc import Iterable
from pathlib import Path

from tornado import web

from sunaba.config.schema import SiteConfig
from sunaba.core.hubclient import AsyncHubClient, HubApiError, HubUnreachable
from sunaba.core.state import StatePaths
from sunaba.hub.service_app import ServiceHandler
from sunaba.users.apply import course_groups
from sunaba.users.flow import RosterOutcome, apply_roster_file, summary_lines
from sunaba.users.template import csv_template, xlsx_template

log = logging.getLogger("sunaba.roster")
UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
UPLOAD_SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm")
MAX_UPLOAD = 10 * 1024 * 1024
UPLOAD_LIFETIME = 3600
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TITLE = "名簿の取り込み"
ADMINS_ONLY = "このページはハブの管理者だけが使えます"
NOT_LOGGED_IN = "ハブにログインしていません。ログインしてから、もう一度開いてください"
FORM_EXPIRED = (
    "フォームの確認用の値がないか、古くなっています。ページを開き直してから、もう一度送ってください"
)
NO_GROUPS = "ハブからコースのグループを読めなかったため、コースへの登録の見込みは表示していません"


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


async def group_members(hub: AsyncHubClient, names: Iterable[str]) -> dict[str, set[str] | None]:
    """Each named hub group's members, None for a group the hub does not have (yet)."""
    found: dict[str, set[str] | None] = {}
    for name in names:
        model = await hub.group(name)
        found[name] = None if model is None else set(model.get("users") or ())
    return found


def membership_changes(members: dict[str, set[str] | None], outcome: RosterOutcome) -> list[dict]:
    """Per course: the hub group, whether it exists yet, and who the import would add.
    `members` is what `group_members` read from the hub."""
    changes = []
    for group_name, wanted in course_groups(outcome.roster.entries).items():
        present = members.get(group_name)
        names = list(dict.fromkeys(wanted))
        changes.append(
            {
                "course": group_name.removeprefix("nbgrader-"),
                "group": group_name,
                "exists": present is not None,
                "added": [name for name in names if name not in (present or ())],
                "already": [name for name in names if name in (present or ())],
            }
        )
    return changes


def is_admin(model: dict) -> bool:
    """A hub user with the admin flag (the hub's model of an OAuth token always carries it)."""
    return model.get("kind", "user") == "user" and model.get("admin") is True


class AdminHandler(ServiceHandler):
    """Only hub admins get past `prepare`; anyone else is refused with 403, whatever scopes
    their token holds."""

    admin: str | None = None

    async def prepare(self):
        model = await self.hub_model()
        if model is None:
            if self.request.method in ("GET", "HEAD"):
                self.redirect(self.get_login_url())
                return
            raise web.HTTPError(403, NOT_LOGGED_IN)
        if not is_admin(model):
            raise web.HTTPError(403, ADMINS_ONLY)
        self.admin = model["name"]

    def get_current_user(self):
        return self.admin

    def check_xsrf_cookie(self):
        try:
            super().check_xsrf_cookie()
        except web.HTTPError as exc:
            raise web.HTTPError(403, FORM_EXPIRED) from exc

    @property
    def site_config(self) -> SiteConfig:
        return self.settings["site_config"]

    @property
    def prefix(self) -> str:
        return self.settings["service_prefix"]

    def show(self, **values) -> None:
        config = self.site_config
        template = self.settings["templates"].get_template("roster.html")
        values.setdefault("step", "upload")
        html = template.render(
            title=TITLE,
            site_name=config.site.name,
            hub_prefix=f"{config.hub.base_url}hub/",  # base_url ends in "/"
            prefix=self.prefix,
            page_url=self.prefix,
            user=self.admin or "",
            xsrf=self.xsrf_token.decode("ascii") if self.admin else "",
            **values,
        )
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(html)

    def write_error(self, status_code: int, **kwargs):
        self.show(step="error", status=status_code, message=self.error_text(**kwargs))


class RosterPage(AdminHandler):
    async def get(self):
        self.show()

    async def post(self):
        if self.get_body_argument("action", "") == "apply":
            await self.apply()
        else:
            await self.preview()

    async def preview(self) -> None:
        files = self.request.files.get("roster") or []
        if not files or not files[0]["body"]:
            self.set_status(400)
            self.show(error="名簿ファイルを選んでください。")
            return
        upload = files[0]
        if len(upload["body"]) > MAX_UPLOAD:
            self.set_status(400)
            self.show(error="ファイルが大きすぎます（10 MB まで）。")
            return
        path = keep_upload(self.site_config, upload["filename"], upload["body"])
        outcome = await asyncio.to_thread(apply_roster_file, self.site_config, path, dry_run=True)
        if not outcome.roster.ok or outcome.result is None:
            path.unlink(missing_ok=True)
            self.set_status(422)
            self.show(step="problems", outcome=outcome, filename=upload["filename"])
            return
        memberships, groups_error = await self.memberships(outcome)
        self.show(
            step="preview",
            outcome=outcome,
            filename=upload["filename"],
            upload_id=path.stem,
            memberships=memberships,
            groups_error=groups_error,
        )

    async def memberships(self, outcome: RosterOutcome) -> tuple[list[dict], str]:
        """What the import would do to the course groups, or why the hub could not say."""
        names = course_groups(outcome.roster.entries)
        try:
            members = await group_members(self.settings["hub"], names)
        except (HubApiError, HubUnreachable) as exc:
            log.warning("roster preview: reading the course groups failed: %s", exc)
            return [], NO_GROUPS
        return membership_changes(members, outcome), ""

    async def apply(self) -> None:
        path = find_upload(self.site_config, self.get_body_argument("upload", ""))
        if path is None:
            self.set_status(400)
            self.show(
                error="確認した名簿が見つかりません（時間が経ったか、取り込み済みです）。"
                "もう一度ファイルを選んでください。",
            )
            return
        try:
            outcome = await asyncio.to_thread(apply_roster_file, self.site_config, path)
        finally:
            path.unlink(missing_ok=True)
        log.info("roster imported from the page by %s", self.admin)
        if not outcome.roster.ok or outcome.result is None:
            self.set_status(422 if not outcome.roster.ok else 500)
            self.show(step="problems", outcome=outcome, filename="")
            return
        self.show(step="done", outcome=outcome, lines=summary_lines(outcome.roster, outcome.result))


class RosterTemplate(AdminHandler):
    async def get(self, kind: str):
        if kind == "xlsx":
            data, media, name = xlsx_template(), XLSX_TYPE, "roster.xlsx"
        else:
            data, media, name = csv_template(), "text/csv; charset=utf-8", "roster.csv"
        self.set_header("Content-Type", media)
        self.set_header("Content-Disposition", f'attachment; filename="{name}"')
        self.finish(data)
