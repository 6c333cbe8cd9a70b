"""One roster import, as `sunaba users import` and the admins' roster page both run it: read and
check the whole file, change nothing if anything is wrong, else apply it (`import_roster`), and
say what happened in Japanese lines."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sunaba.config import SiteConfig
from sunaba.core.hubclient import hub_api_url
from sunaba.core.state import StatePaths, ensure_state_dir, service_token
from sunaba.progress import Progress
from sunaba.records.db import default_records_url
from sunaba.users.apply import ImportFailed
from sunaba.users.passwords import DEFAULT_PASSWORD_LENGTH
from sunaba.users.roster import Roster, read_roster
from sunaba.users.roster_import import ImportResult, import_roster

ADMIN_SERVICE = "sunaba-admin"
NO_HUB_ACCESS = "ハブの API 用トークンがありません（`sunaba up` を一度実行すると作られます）"
HUB_RETRY = (
    "アカウントの登録は済んでいます。ハブが動いている状態でもう一度取り込むと、"
    "ユーザーとグループの登録をやり直します。"
)


@dataclass
class RosterOutcome:
    """What one import did. `result` is None when nothing was changed (see `roster.problems`
    or `error`); `error` with a result means the accounts exist but the hub refused."""

    roster: Roster
    result: ImportResult | None = None
    error: str | None = None


def admin_token(paths: StatePaths) -> str | None:
    try:
        return service_token(paths, ADMIN_SERVICE)
    except (OSError, KeyError, TypeError):
        return None


def apply_roster_file(
    config: SiteConfig,
    file: Path,
    *,
    passwords_out: str | Path | None = None,
    dry_run: bool = False,
    api_url: str | None = None,
    progress: Progress | None = None,
) -> RosterOutcome:
    """Check `file` as a whole; unless it has a problem, apply it (or, with `dry_run`, say what
    applying would do), telling `progress` of each account. Never raises for a bad roster or a
    failed import."""
    roster = read_roster(file, reserved=config.hub.admin_users)
    outcome = RosterOutcome(roster=roster)
    if not roster.ok:
        return outcome
    paths = StatePaths.from_config(config)
    if not dry_run:
        ensure_state_dir(paths)
    token = admin_token(paths)
    if progress:
        progress.total = len(roster.entries)
    try:
        result = import_roster(
            roster.entries,
            hub_db_url=paths.hub_db_url(config),
            records_url=default_records_url(config),
            state_dir=paths.root,
            passwords_out=passwords_out,
            api_url=api_url or hub_api_url(config),
            token=token,
            password_length=max(
                DEFAULT_PASSWORD_LENGTH, config.auth.native.minimum_password_length
            ),
            dry_run=dry_run,
            progress=progress,
        )
    except ImportFailed as exc:
        outcome.error = str(exc)
        return outcome
    if result.hub_skipped and token is None and not dry_run:
        result.hub_skipped = NO_HUB_ACCESS
    outcome.result = result
    outcome.error = result.hub_error
    return outcome


def names_text(names: list[str], limit: int = 10) -> str:
    shown = "、".join(names[:limit])
    return shown + (f" ほか{len(names) - limit}人" if len(names) > limit else "")


def summary_lines(roster: Roster, result: ImportResult) -> list[str]:
    """What the import did (or, dry run, would do), for a terminal or a page."""
    lines: list[str] = []
    say = lines.append
    accounts = result.accounts
    prefix = "（試行）" if result.dry_run else ""
    say(f"{prefix}名簿 {roster.path}（{roster.format}、{len(roster.entries)}人）")
    for notice in roster.notices():
        say(f"  {notice}")
    say(
        f"{prefix}アカウント: 新規 {len(accounts.created)}人、更新 {len(accounts.updated)}人、"
        f"変更なし {len(accounts.unchanged)}人、正規化 {len(roster.normalised)}人"
    )
    if accounts.created:
        say(f"  新規: {names_text(accounts.created)}")
    if accounts.updated:
        say(f"  更新: {names_text(accounts.updated)}")
    if accounts.updated or accounts.unchanged:
        say("  既存のアカウントのパスワードは変えていません。")
    if result.dry_run:
        say("試行のため、何も変更していません。")
        return lines
    say(
        f"記録データベース: 新規 {len(result.people_created)}人、"
        f"更新 {len(result.people_updated)}人"
    )
    lines += _hub_lines(result)
    if result.passwords_file is not None:
        say(f"仮パスワード（新規 {len(accounts.passwords)}人分）: {result.passwords_file}")
        say("  このファイルは管理者だけが読めます（0600）。本人に渡したら削除してください。")
    else:
        say("新規のアカウントがないため、仮パスワードのファイルは作っていません。")
    return lines


def _hub_lines(result: ImportResult) -> list[str]:
    if result.hub is not None:
        hub = result.hub
        lines = [f"ハブ: ユーザーを {len(hub.users_created)}人 作成しました。"]
        lines += [f"  グループ {group} を作りました。" for group in hub.groups_created]
        lines += [
            f"  グループ {g} に {len(added)}人 追加しました。" for g, added in hub.added.items()
        ]
        return lines
    if result.hub_skipped:
        return [
            f"ハブ: {result.hub_skipped}。ハブへのユーザー登録とコースのグループ登録は省略しました"
            "（ユーザーは初回ログイン時に作られ、グループは次回の取り込みで登録されます）。"
        ]
    return []
