"""`sunaba users import FILE [--passwords-out PATH] [--dry-run]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from sunaba.config import ConfigError, SiteConfig, load_config
from sunaba.records.db import default_records_url
from sunaba.runtime.state import StatePaths, ensure_state_dir, service_token
from sunaba.users.apply import (
    DEFAULT_PASSWORD_LENGTH,
    ImportFailed,
    ImportResult,
    hub_api_url,
    import_roster,
)
from sunaba.users.roster import Roster, read_roster

ADMIN_SERVICE = "sunaba-admin"


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    users = subparsers.add_parser("users", help="manage learners' accounts")
    sub = users.add_subparsers(dest="users_command", required=True)

    imp = sub.add_parser(
        "import",
        help="create or update accounts from a roster (CSV or .xlsx); a roster with any "
        "problem changes nothing",
    )
    imp.add_argument("file", help="roster: CSV (UTF-8, UTF-8 with BOM or CP932) or Excel .xlsx")
    imp.add_argument(
        "--passwords-out",
        metavar="PATH",
        help="where to write the new users' temporary passwords (created 0600; default: "
        "{state_dir}/roster-passwords-<timestamp>.csv)",
    )
    imp.add_argument(
        "--dry-run", action="store_true", help="validate and show what would change; change nothing"
    )
    imp.set_defaults(func=cmd_import)


def cmd_import(args: argparse.Namespace) -> int:
    try:
        config = load_config(Path(args.config) if args.config else None)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    return run_import(
        config, Path(args.file), passwords_out=args.passwords_out, dry_run=args.dry_run
    )


def _admin_token(paths: StatePaths) -> str | None:
    try:
        return service_token(paths, ADMIN_SERVICE)
    except (OSError, KeyError, TypeError):
        return None


def run_import(
    config: SiteConfig,
    file: Path,
    *,
    passwords_out: str | Path | None = None,
    dry_run: bool = False,
    api_url: str | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Validate `file`, then (unless it has problems) apply it. Returns the exit code:
    0 done, 1 problems in the roster (nothing changed) or a failure."""
    out = out or sys.stdout
    err = err or sys.stderr
    roster = read_roster(file, reserved=config.hub.admin_users)
    if not roster.ok:
        _print_problems(roster, err)
        return 1

    paths = StatePaths.from_config(config)
    if not dry_run:
        ensure_state_dir(paths)
    token = _admin_token(paths)
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
        )
    except ImportFailed as exc:
        print(f"エラー: {exc}", file=err)
        return 1
    if result.hub_skipped and token is None and not dry_run:
        result.hub_skipped = (
            "ハブの API 用トークンがありません（`sunaba up` を一度実行すると作られます）"
        )
    _print_summary(roster, result, out)
    if result.hub_error:
        print(f"エラー: {result.hub_error}", file=err)
        print(
            "アカウントの登録は済んでいます。ハブが動いている状態でもう一度取り込むと、"
            "ユーザーとグループの登録をやり直します。",
            file=err,
        )
        return 1
    return 0


def _print_problems(roster: Roster, err: TextIO) -> None:
    count = len(roster.problems)
    print(f"名簿 {roster.path} に {count} 件の問題があります。何も変更していません。", file=err)
    for problem in roster.problems:
        print(f"  {problem}", file=err)
    if roster.problems and all(p.row is None for p in roster.problems):
        return
    print("名簿を直してから、もう一度取り込んでください。", file=err)


def _names(names: list[str], limit: int = 10) -> str:
    shown = "、".join(names[:limit])
    return shown + (f" ほか{len(names) - limit}人" if len(names) > limit else "")


def _print_summary(roster: Roster, result: ImportResult, out: TextIO) -> None:
    def say(line: str = "") -> None:
        print(line, file=out)

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
        say(f"  新規: {_names(accounts.created)}")
    if accounts.updated:
        say(f"  更新: {_names(accounts.updated)}")
    if accounts.updated or accounts.unchanged:
        say("  既存のアカウントのパスワードは変えていません。")
    if result.dry_run:
        say("試行のため、何も変更していません。")
        return
    say(
        f"記録データベース: 新規 {len(result.people_created)}人、"
        f"更新 {len(result.people_updated)}人"
    )
    if result.hub is not None:
        hub = result.hub
        say(f"ハブ: ユーザーを {len(hub.users_created)}人 作成しました。")
        for group in hub.groups_created:
            say(f"  グループ {group} を作りました。")
        for group, added in hub.added.items():
            say(f"  グループ {group} に {len(added)}人 追加しました。")
    elif result.hub_skipped:
        say(
            f"ハブ: {result.hub_skipped}。ハブへのユーザー登録とコースのグループ登録は省略しました"
            "（ユーザーは初回ログイン時に作られ、グループは次回の取り込みで登録されます）。"
        )
    if result.passwords_file is not None:
        say(f"仮パスワード（新規 {len(accounts.passwords)}人分）: {result.passwords_file}")
        say("  このファイルは管理者だけが読めます（0600）。本人に渡したら削除してください。")
    else:
        say("新規のアカウントがないため、仮パスワードのファイルは作っていません。")
