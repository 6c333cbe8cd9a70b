"""The first admin account, created once with a generated password so that a fresh hub is never
open to whoever signs up as `admin` first."""

from __future__ import annotations

import os
from pathlib import Path

from sunaba.config.schema import SiteConfig
from sunaba.core.state import StatePaths
from sunaba.users.apply import open_hub_session, stage_hub_accounts
from sunaba.users.roster import RosterEntry


def admin_password_file(paths: StatePaths) -> Path:
    return paths.root / "admin-password.txt"


def ensure_first_admin(config: SiteConfig, paths: StatePaths) -> str | None:
    """Create the first configured admin if it has no account; return the new password."""
    if not config.hub.admin_users:
        return None
    name = config.hub.admin_users[0]
    session = open_hub_session(paths.hub_db_url(config))
    try:
        changes = stage_hub_accounts(session, [RosterEntry(row=0, login=name, original_login=name)])
        if name not in changes.created:
            session.rollback()
            return None
        password = changes.passwords[name]
        target = admin_password_file(paths)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(f"{name}\n{password}\n")
        session.commit()
        return password
    finally:
        bind = session.get_bind()
        session.close()
        bind.dispose()
