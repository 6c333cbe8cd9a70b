"""Applying a validated roster: hub accounts, hub users and course groups, records, passwords.

Order of work in `import_roster`:
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

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, inspect, select
from sqlalchemy.orm import Session

from sunaba.progress import Progress
from sunaba.records.db import (
    ensure_records_schema,
    make_engine,
    precreate_sqlite_file,
    sqlite_file,
)
from sunaba.records.people import PersonData, upsert_people
from sunaba.users.passwords import (
    DEFAULT_PASSWORD_LENGTH,
    default_passwords_path,
    generate_password,
    hash_each,
    write_passwords_file,
)
from sunaba.users.roster import RosterEntry

GROUP_PREFIX = "nbgrader-"


class ImportFailed(Exception):
    """Applying the roster failed; the message is for the admin (Japanese)."""


# ----------------------------------------------------------------------------------------------
# Hub database (NativeAuthenticator's users_info)


@dataclass
class AccountChanges:
    """What happens to NativeAuthenticator accounts; `passwords` only for created ones."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    passwords: dict[str, str] = field(default_factory=dict)


def open_hub_session(hub_db_url: str) -> Session:
    """A session on the hub database, created (and stamped) like JupyterHub does if it does not
    exist yet, with NativeAuthenticator's table added when missing. Close it and dispose its
    bind when done."""
    import nativeauthenticator.orm  # noqa: F401  (registers users_info on JupyterHub's Base)
    from jupyterhub import orm

    precreate_sqlite_file(hub_db_url)
    try:
        factory = orm.new_session_factory(hub_db_url)
    except Exception as exc:
        raise ImportFailed(f"ハブのデータベースを開けません（{hub_db_url}）: {exc}") from exc
    return factory()


def stage_hub_accounts(
    session: Session,
    entries: Sequence[RosterEntry],
    *,
    password_length: int = DEFAULT_PASSWORD_LENGTH,
    progress: Progress | None = None,
) -> AccountChanges:
    """Create or update `users_info` rows in `session` (flushed, not committed).

    New accounts get a fresh temporary password; existing accounts keep theirs and are only
    authorised and given the roster's email when it has one. `progress` is told of each entry.
    """
    from nativeauthenticator.orm import UserInfo

    logins = [e.login for e in entries]
    existing: dict[str, UserInfo] = {}
    for info in session.scalars(select(UserInfo).where(UserInfo.username.in_(logins))):
        existing.setdefault(info.username, info)
    changes = AccountChanges()
    new = [e for e in entries if e.login not in existing]
    changes.passwords = {e.login: generate_password(password_length) for e in new}
    hashes = hash_each(changes.passwords)  # in the order of `new`, each as soon as it is done
    for entry in entries:
        info = existing.get(entry.login)
        if info is None:
            session.add(
                UserInfo(
                    username=entry.login,
                    password=dict([next(hashes)])[entry.login],
                    is_authorized=True,
                    email=entry.email or None,
                )
            )
            changes.created.append(entry.login)
            note = "新規"
        else:  # authorised, with the roster's email when it has one
            changed = not info.is_authorized or bool(entry.email and info.email != entry.email)
            if changed:
                info.is_authorized, info.email = True, entry.email or info.email
            (changes.updated if changed else changes.unchanged).append(entry.login)
            note = "更新" if changed else "変更なし"
        if progress:
            progress.done(entry.login, note)
    session.flush()
    return changes


def plan_hub_accounts(hub_db_url: str, entries: Sequence[RosterEntry]) -> AccountChanges:
    """What `stage_hub_accounts` would do, reading the hub database without creating anything."""
    changes = AccountChanges()
    rows: dict[str, tuple[str | None, bool]] = {}
    path = sqlite_file(hub_db_url)
    missing_file = path is not None and not path.exists()
    if not missing_file:
        engine = create_engine(hub_db_url)
        try:
            if inspect(engine).has_table("users_info"):
                with engine.connect() as connection:
                    result = connection.exec_driver_sql(
                        "SELECT username, email, is_authorized FROM users_info"
                    )
                    for username, email, authorized in result:
                        rows.setdefault(username, (email, bool(authorized)))
        finally:
            engine.dispose()
    for entry in entries:
        if entry.login not in rows:
            changes.created.append(entry.login)
            continue
        email, authorized = rows[entry.login]
        changed = not authorized or bool(entry.email and entry.email != email)
        (changes.updated if changed else changes.unchanged).append(entry.login)
    return changes


# ----------------------------------------------------------------------------------------------
# Hub REST API


class HubUnreachable(Exception):
    """Nothing answers at the hub API URL (the hub is not running)."""


class HubApiError(Exception):
    """The hub answered with an error; the message says which request."""


@dataclass
class HubSyncResult:
    users_created: list[str] = field(default_factory=list)
    groups_created: list[str] = field(default_factory=list)
    added: dict[str, list[str]] = field(default_factory=dict)  # group -> users newly added


class _HubClient:
    def __init__(self, api_url: str, token: str, timeout: float):
        parsed = urllib.parse.urlparse(api_url)
        if parsed.scheme not in ("http", "https"):
            raise ValueError(f"hub API URL must be http(s): {api_url!r}")
        self.base = api_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        # Loopback API: never go through an http_proxy from the environment.
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def call(
        self, method: str, path: str, body: object = None, ok: Iterable[int] = ()
    ) -> tuple[int, object]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 (scheme checked in __init__)
            self.base + path, data=data, method=method
        )
        request.add_header("Authorization", f"token {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
            if status not in ok:
                raise HubApiError(
                    f"{method} {path}: HTTP {status} {_error_message(raw) or exc.reason}"
                ) from exc
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, None


def _error_message(raw: bytes) -> str:
    try:
        return str(json.loads(raw).get("message", ""))
    except (ValueError, AttributeError):
        return raw[:200].decode("utf-8", "replace")


def hub_api_url(config) -> str:
    """The hub's REST API on loopback, from the site config."""
    return f"http://127.0.0.1:{config.hub.hub_port}{config.hub.base_url}hub/api"


def course_groups(entries: Iterable[RosterEntry]) -> dict[str, list[str]]:
    """`nbgrader-<course>` -> logins listed for that course, in roster order."""
    groups: dict[str, list[str]] = {}
    for entry in entries:
        for course in entry.courses:
            groups.setdefault(GROUP_PREFIX + course, []).append(entry.login)
    return groups


def sync_hub(
    api_url: str,
    token: str,
    usernames: Sequence[str],
    groups: Mapping[str, Sequence[str]],
    *,
    timeout: float = 10.0,
) -> HubSyncResult:
    """Make sure the hub has these users and group members (adds only, never removes).

    Raises HubUnreachable when nothing answers at `api_url`, HubApiError when the hub refuses a
    request. Every step is idempotent, so a failed sync is repaired by running it again.
    """
    client = _HubClient(api_url, token, timeout)
    try:
        client.call("GET", "/")
    except HubApiError:
        pass  # it answers: errors are for the requests that matter, below
    except (urllib.error.URLError, OSError) as exc:
        raise HubUnreachable(f"{api_url}: {getattr(exc, 'reason', exc)}") from exc
    result = HubSyncResult()
    try:
        if usernames:
            status, body = client.call("POST", "/users", {"usernames": list(usernames)}, ok=[409])
            if status == 201 and isinstance(body, list):
                result.users_created = [user["name"] for user in body]
        for group, members in groups.items():
            quoted = "/groups/" + urllib.parse.quote(group, safe="")
            status, _ = client.call("POST", quoted, {}, ok=[409])
            if status == 201:
                result.groups_created.append(group)
            _, model = client.call("GET", quoted)
            present = set(model.get("users", [])) if isinstance(model, dict) else set()
            missing = [name for name in dict.fromkeys(members) if name not in present]
            if missing:
                client.call("POST", quoted + "/users", {"users": missing})
                result.added[group] = missing
    except (urllib.error.URLError, OSError) as exc:
        raise HubApiError(f"{api_url}: {getattr(exc, 'reason', exc)}") from exc
    return result


def sync_roster_to_hub(
    api_url: str, token: str, entries: Sequence[RosterEntry], *, timeout: float = 10.0
) -> HubSyncResult:
    """`sync_hub` for a roster: every login, and each course's `nbgrader-<course>` group."""
    return sync_hub(
        api_url, token, [e.login for e in entries], course_groups(entries), timeout=timeout
    )


# ----------------------------------------------------------------------------------------------
# The whole import


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

    by_login = {e.login: e for e in entries}
    try:
        ensure_records_schema(records_url)
    except Exception as exc:
        raise ImportFailed(f"記録データベースを準備できません（{records_url}）: {exc}") from exc
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
            rows = [
                (login, by_login[login].display_name, password)
                for login, password in accounts.passwords.items()
            ]
            target = passwords_out or default_passwords_path(state_dir)
            try:
                passwords_file = write_passwords_file(target, rows, unique=passwords_out is None)
            except FileExistsError as exc:
                raise ImportFailed(
                    f"{target}: 既にファイルがあります（上書きしません）。別の名前を指定してください"
                ) from exc
            except OSError as exc:
                raise ImportFailed(f"{target}: パスワードファイルを作れません（{exc}）") from exc
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
        if committed:
            kept = f"仮パスワードは {passwords_file} にあります。" if passwords_file else ""
            raise ImportFailed(
                f"ハブのアカウントは登録しましたが、記録データベースへの書き込みに失敗しました: {exc}。"
                f"{kept}もう一度取り込むと続きを登録します（パスワードは変わりません）"
            ) from exc
        raise ImportFailed(f"登録に失敗しました（何も変更していません）: {exc}") from exc
    finally:
        hub_session.close()
        hub_session.bind.dispose()
        records_session.close()
        records_engine.dispose()

    result = ImportResult(
        accounts=accounts,
        people_created=people_created,
        people_updated=people_updated,
        passwords_file=passwords_file,
    )
    if not api_url or not token:
        result.hub_skipped = "ハブの API を使うための設定（URL かトークン）がありません"
        return result
    try:
        result.hub = sync_roster_to_hub(api_url, token, entries)
    except HubUnreachable:
        result.hub_skipped = f"ハブ（{api_url}）が動いていません"
    except HubApiError as exc:
        result.hub_error = f"ハブへの登録に失敗しました: {exc}"
    return result
