"""Demo accounts for the demo course: an instructor and a learner, created once with generated
passwords (kept readable by root only in the state dir, like the first admin's)."""

from __future__ import annotations

import os
from pathlib import Path

from sunaba.config.schema import SiteConfig
from sunaba.core.state import StatePaths
from sunaba.users.apply import open_hub_session, stage_hub_accounts
from sunaba.users.roster import RosterEntry

DEMO_INSTRUCTOR = "demo-teacher"
DEMO_LEARNER = "demo-learner"
DEMO_ACCOUNTS = {DEMO_INSTRUCTOR: "デモ講師", DEMO_LEARNER: "デモ受講者"}


def demo_accounts_file(paths: StatePaths) -> Path:
    return paths.root / "demo-accounts.txt"


def ensure_demo_accounts(config: SiteConfig, paths: StatePaths) -> dict[str, str]:
    """Create the demo accounts that do not exist yet; return {name: password} of those."""
    if not config.courses.demo_accounts:
        return {}
    entries = [
        RosterEntry(row=index, login=name, original_login=name, display_name=label)
        for index, (name, label) in enumerate(DEMO_ACCOUNTS.items())
    ]
    session = open_hub_session(paths.hub_db_url(config))
    try:
        changes = stage_hub_accounts(session, entries)
        created = {name: changes.passwords[name] for name in changes.created}
        if created:
            target = demo_accounts_file(paths)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as handle:
                for name, password in created.items():
                    handle.write(f"{name}\t{password}\n")
        session.commit()
        return created
    finally:
        bind = session.get_bind()
        session.close()
        bind.dispose()


def describe_demo_accounts(created: dict[str, str]) -> str:
    if not created:
        return ""
    lines = ["デモ用アカウントを作成しました / demo accounts created:"]
    for name, password in created.items():
        lines.append(f"  {DEMO_ACCOUNTS[name]}  ユーザー名 {name}  パスワード {password}")
    return "\n".join(lines)
