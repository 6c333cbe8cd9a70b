"""Applying a validated roster as a whole, all or nothing where it can be:
1. stage NativeAuthenticator's `users_info` rows in the hub database (one transaction) and the
   `people` rows in the records database (one transaction), with a fresh temporary password for
   each new account only;
2. write the temporary passwords to a new 0600 file (before committing, so that no account is
   ever created whose password nobody has);
3. commit both transactions (on failure: roll back and delete the passwords file);
4. if the hub answers, create the hub users and add them to `nbgrader-<course>` through the REST
   API (`sync_hub`); if it does not, users are created at their first login and groups are applied
   by the next import.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from sunaba.core.hubclient import HubApiError, HubUnreachable
from sunaba.progress import Progress
from sunaba.records.db import ensure_records_schema, make_engine
from sunaba.records.people import PersonData, upsert_people
from sunaba.users.apply import (
    AccountChanges,
    HubSyncResult,
    ImportFailed,
    open_hub_session,
    plan_hub_accounts,
    stage_hub_accounts,
    sync_roster_to_hub,
)
from sunaba.users.passwords import (
    DEFAULT_PASSWORD_LENGTH,
    default_passwords_path,
    write_passwords_file,
)
from sunaba.users.roster import RosterEntry


@dataclass
class ImportResult:
    accounts: AccountChanges
    people_created: list[str] = field(default_factory=list)
    people_updated: list[str] = field(default_factory=list)
    passwords_file: Path | None = None
    hub: HubSyncResult | None = None
    hub_skipped: str | None = None  # why the hub API part was skipped (Japanese)
    hub_error: str | None = None  # the hub answered but refused (Japanese)
    dry_run: bool = False


def _people(entries: Iterable[RosterEntry]) -> list[PersonData]:
    return [
        PersonData(
            login=e.login,
            display_name=e.display_name,
            email=e.email or None,
            department=e.department,
        )
        for e in entries
    ]


def import_roster(
    entries: Sequence[RosterEntry],
    *,
    hub_db_url: str,
    records_url: str,
    state_dir: str | Path,
    passwords_out: str | Path | None = None,
    api_url: str | None = None,
    token: str | None = None,
    password_length: int = DEFAULT_PASSWORD_LENGTH,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Apply validated roster entries (see module docstring). Call only when the roster is ok.

    Raises ImportFailed (nothing committed) when the databases or the passwords file fail.
    With `dry_run`, reads the hub database and changes nothing anywhere.
    """
    if dry_run:
        return ImportResult(accounts=plan_hub_accounts(hub_db_url, entries), dry_run=True)
    try:
        ensure_records_schema(records_url)
    except Exception as exc:
        raise ImportFailed(f"記録データベースを準備できません（{records_url}）: {exc}") from exc
    result = _store_accounts(
        entries,
        hub_db_url=hub_db_url,
        records_url=records_url,
        state_dir=state_dir,
        passwords_out=passwords_out,
        password_length=password_length,
        progress=progress,
    )
    _register_in_hub(result, entries, api_url, token)
    return result


def _store_accounts(
    entries: Sequence[RosterEntry],
    *,
    hub_db_url: str,
    records_url: str,
    state_dir: str | Path,
    passwords_out: str | Path | None,
    password_length: int,
    progress: Progress | None,
) -> ImportResult:
    """Steps 1 to 3: both databases and the passwords file, committed together."""
    hub_session = open_hub_session(hub_db_url)
    records_engine = make_engine(records_url)
    records_session = Session(bind=records_engine, expire_on_commit=False)
    passwords_file: Path | None = None
    committed = False
    try:
        accounts = stage_hub_accounts(
            hub_session, entries, password_length=password_length, progress=progress
        )
        people_created, people_updated = upsert_people(records_session, _people(entries))
        if accounts.passwords:
            passwords_file = _write_passwords(accounts, entries, state_dir, passwords_out)
        hub_session.commit()
        committed = True
        records_session.commit()
    except BaseException as exc:
        hub_session.rollback()
        records_session.rollback()
        if passwords_file is not None and not committed:
            passwords_file.unlink(missing_ok=True)
        if isinstance(exc, ImportFailed) or not isinstance(exc, Exception):
            raise
        raise _store_failure(exc, committed, passwords_file) from exc
    finally:
        hub_session.close()
        hub_session.bind.dispose()
        records_session.close()
        records_engine.dispose()
    return ImportResult(
        accounts=accounts,
        people_created=people_created,
        people_updated=people_updated,
        passwords_file=passwords_file,
    )


def _write_passwords(
    accounts: AccountChanges,
    entries: Sequence[RosterEntry],
    state_dir: str | Path,
    passwords_out: str | Path | None,
) -> Path:
    """The new accounts' temporary passwords, in a file that did not exist before."""
    by_login = {e.login: e for e in entries}
    rows = [
        (login, by_login[login].display_name, password)
        for login, password in accounts.passwords.items()
    ]
    target = passwords_out or default_passwords_path(state_dir)
    try:
        return write_passwords_file(target, rows, unique=passwords_out is None)
    except FileExistsError as exc:
        raise ImportFailed(
            f"{target}: 既にファイルがあります（上書きしません）。別の名前を指定してください"
        ) from exc
    except OSError as exc:
        raise ImportFailed(f"{target}: パスワードファイルを作れません（{exc}）") from exc


def _store_failure(exc: Exception, committed: bool, passwords_file: Path | None) -> ImportFailed:
    """What the admin is told when storing failed: whether the hub accounts are in already."""
    if committed:
        kept = f"仮パスワードは {passwords_file} にあります。" if passwords_file else ""
        return ImportFailed(
            f"ハブのアカウントは登録しましたが、記録データベースへの書き込みに失敗しました: {exc}。"
            f"{kept}もう一度取り込むと続きを登録します（パスワードは変わりません）"
        )
    return ImportFailed(f"登録に失敗しました（何も変更していません）: {exc}")


def _register_in_hub(
    result: ImportResult, entries: Sequence[RosterEntry], api_url: str | None, token: str | None
) -> None:
    """Step 4, when the hub runs: its users and course groups; else why not, in `result`."""
    if not api_url or not token:
        result.hub_skipped = "ハブの API を使うための設定（URL かトークン）がありません"
        return
    try:
        result.hub = sync_roster_to_hub(api_url, token, entries)
    except HubUnreachable:
        result.hub_skipped = f"ハブ（{api_url}）が動いていません"
    except HubApiError as exc:
        result.hub_error = f"ハブへの登録に失敗しました: {exc}"
