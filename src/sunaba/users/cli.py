"""`sunaba users import FILE [--passwords-out PATH] [--dry-run]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from sunaba.config import ConfigError, SiteConfig, load_config
from sunaba.progress import Progress
from sunaba.users.flow import ADMIN_SERVICE, HUB_RETRY, apply_roster_file, summary_lines
from sunaba.users.roster import Roster
from sunaba.users.template import write_template

__all__ = ["ADMIN_SERVICE", "add_commands", "run_import"]


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

    template = sub.add_parser(
        "template",
        help="write an empty roster to fill in: CSV (UTF-8 with BOM) or, with --xlsx or a name "
        "ending in .xlsx, an Excel workbook with a sheet explaining each column",
    )
    template.add_argument("out", metavar="OUT", help="file to write (e.g. 名簿.xlsx)")
    template.add_argument("--xlsx", action="store_true", help="write an Excel workbook")
    template.set_defaults(func=cmd_template)


def cmd_template(args: argparse.Namespace) -> int:
    target = Path(args.out)
    if target.exists():
        print(f"{target}: 既にファイルがあります（上書きしません）", file=sys.stderr)
        return 1
    try:
        written = write_template(target, xlsx=True if args.xlsx else None)
    except OSError as exc:
        print(f"{target}: 書き込めません（{exc.strerror or exc}）", file=sys.stderr)
        return 1
    print(f"名簿のひな形を書き出しました: {written}")
    print("Excel で開いて 3行目から1人1行で書き、`sunaba users import` で取り込んでください。")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    try:
        config = load_config(Path(args.config) if args.config else None)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    return run_import(
        config, Path(args.file), passwords_out=args.passwords_out, dry_run=args.dry_run
    )


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
    with Progress(0, "登録", err) as progress:  # one line per account off a terminal
        outcome = apply_roster_file(
            config,
            file,
            passwords_out=passwords_out,
            dry_run=dry_run,
            api_url=api_url,
            progress=progress,
        )
    if not outcome.roster.ok:
        _print_problems(outcome.roster, err)
        return 1
    if outcome.result is None:
        print(f"エラー: {outcome.error}", file=err)
        return 1
    for line in summary_lines(outcome.roster, outcome.result):
        print(line, file=out)
    if outcome.error:
        print(f"エラー: {outcome.error}", file=err)
        print(HUB_RETRY, file=err)
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
