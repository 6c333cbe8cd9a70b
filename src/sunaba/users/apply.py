"""Applying a validated roster, piece by piece: NativeAuthenticator's accounts in the hub database
(`stage_hub_accounts`), and hub users and course groups through the hub's REST API (`sync_hub`).
`sunaba.users.roster_import` puts the pieces together."""

from __future__ import annotations

import contextlib
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import create_engine, inspect, select
from sqlalchemy.orm import Session

from sunaba.core.hubclient import HubApiError, HubClient, HubUnreachable
from sunaba.progress import Progress
from sunaba.records.db import precreate_sqlite_file, sqlite_file
from sunaba.users.passwords import DEFAULT_PASSWORD_LENGTH, generate_password, hash_each
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


@dataclass
class HubSyncResult:
    users_created: list[str] = field(default_factory=list)
    groups_created: list[str] = field(default_factory=list)
    added: dict[str, list[str]] = field(default_factory=dict)  # group -> users newly added


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
    client = HubClient(api_url, token, timeout)
    # Nothing answering raises HubUnreachable here; an error answer is still an answer: errors
    # are for the requests that matter, below.
    with contextlib.suppress(HubApiError):
        client.call("GET", "/")
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
    except HubUnreachable as exc:  # it answered at first: a sync cut off, not a hub that is down
        raise HubApiError(None, str(exc.reason), request=api_url) from exc
    return result


def sync_roster_to_hub(
    api_url: str, token: str, entries: Sequence[RosterEntry], *, timeout: float = 10.0
) -> HubSyncResult:
    """`sync_hub` for a roster: every login, and each course's `nbgrader-<course>` group."""
    return sync_hub(
        api_url, token, [e.login for e in entries], course_groups(entries), timeout=timeout
    )
