"""The demo accounts `sunaba up` creates once, with passwords only root can read back."""

from __future__ import annotations

import stat

import bcrypt
from sqlalchemy import create_engine, text

from sunaba.config.loader import validate
from sunaba.core.state import StatePaths
from sunaba.courses.demo import (
    DEMO_INSTRUCTOR,
    DEMO_LEARNER,
    demo_accounts_file,
    describe_demo_accounts,
    ensure_demo_accounts,
)


def test_created_once_with_working_passwords(tmp_path):
    config = validate({"hub": {"state_dir": str(tmp_path)}}, "test")
    paths = StatePaths.from_config(config)
    created = ensure_demo_accounts(config, paths)
    assert set(created) == {DEMO_INSTRUCTOR, DEMO_LEARNER}
    assert ensure_demo_accounts(config, paths) == {}
    engine = create_engine(paths.hub_db_url(config))
    with engine.connect() as connection:
        rows = dict(connection.execute(text("SELECT username, password FROM users_info")).all())
    engine.dispose()
    for name, password in created.items():
        assert bcrypt.checkpw(password.encode(), rows[name])
    saved = demo_accounts_file(paths)
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert all(f"{n}\t{p}" in saved.read_text() for n, p in created.items())
    assert DEMO_LEARNER in describe_demo_accounts(created)
    off = validate({"hub": {"state_dir": str(tmp_path)}, "courses": {"demo_accounts": False}}, "t")
    assert ensure_demo_accounts(off, paths) == {}
