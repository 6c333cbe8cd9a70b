"""Hub hooks and the files under the runtime prefix (a temporary prefix here)."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

from traitlets.config import Config

from sunaba.classroom import hub as hooks
from sunaba.config.loader import validate
from sunaba.core.jadate import format_ja
from sunaba.courses.groups import GroupPlan, groups_file, plan_group, write_plans
from sunaba.exchange.learner_files import (
    LEARNER_HIDDEN_LAB_PLUGINS,
    PORTABLE_PACKAGE,
    ensure_learner_files,
    portable_dir,
)
from sunaba.hub.apply import HubFacts

FACTS = HubFacts(sandbox_mode="full", hub_config_dir=__import__("pathlib").Path("/x/hub_config"))


def config_for(tmp_path, **courses):
    return validate(
        {
            "hub": {"state_dir": str(tmp_path / "state"), "prefix": str(tmp_path / "prefix")},
            "courses": courses,
        },
        "test",
    )


def test_hooks_without_synced_courses_run_only_the_exchange(tmp_path):
    config = config_for(tmp_path)
    names = [s["name"] for s in hooks.services(config, FACTS)]
    assert names == ["sunaba-exchange"]
    exchange = hooks.services(config, FACTS)[0]
    assert exchange["url"].startswith("http://127.0.0.1:")
    assert 20000 <= hooks.base_port(config) < 29000
    assert hooks.base_port(config) == hooks.base_port(config_for(tmp_path))  # deterministic
    assert hooks.base_port(config_for(tmp_path, service_port=31000)) == 31000
    roles = {r["name"]: r for r in hooks.roles(config, FACTS)}
    assert set(roles) == {"sunaba-exchange"}
    assert "admin:users" not in roles["sunaba-exchange"]["scopes"]
    scopes = hooks.server_scopes(config)
    assert all("!" in scope for scope in scopes)  # filtered: nothing about anyone else


def test_groups_planned_by_a_sync_load_at_hub_start(tmp_path):
    config = config_for(tmp_path)
    plan = plan_group(GroupPlan(members=["old"], managed=["old"]), ["ann", "bob"])
    assert plan == GroupPlan(members=["ann", "bob"], managed=["ann", "bob", "old"])
    write_plans(groups_file(config), {"nbgrader-kiso": plan})
    c = Config()
    hooks.update(c, config, replace(FACTS, areas={hooks.AREA: hooks.gather(config)}))
    assert c.JupyterHub.load_groups == {"nbgrader-kiso": {"users": ["ann", "bob"]}}
    # Composing reads nothing itself: what was not gathered is not there.
    bare = Config()
    hooks.update(bare, config, FACTS)
    assert bare.JupyterHub.load_groups == {}


def test_learner_files_hide_the_formgrader_and_import_without_sunaba(tmp_path):
    config = config_for(tmp_path)
    (tmp_path / "prefix" / "venv" / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
    changed = ensure_learner_files(config)
    assert changed and ensure_learner_files(config) == []
    etc = tmp_path / "prefix" / "venv" / "etc" / "jupyter"
    nbgrader = json.loads((etc / "nbgrader_config.json").read_text())
    assert nbgrader["ExchangeFactory"]["submit"] == f"{PORTABLE_PACKAGE}.exchange.plugin.Submit"
    page = json.loads((etc / "labconfig" / "page_config.json").read_text())
    assert all(page["disabledExtensions"][p] for p in LEARNER_HIDDEN_LAB_PLUGINS)
    pth = tmp_path / "prefix" / "venv" / "lib" / "python3.11" / "site-packages"
    assert (pth / "sunaba-portable.pth").read_text().strip() == str(portable_dir(config))
    # In a sandbox the checkout is invisible: the copy must import with no `sunaba` at all.
    # `python -S`: no .pth file runs, so only the venv's packages and the copy are on the path.
    code = (
        f"import sys; sys.path += [{sysconfig.get_path('purelib')!r}, {str(portable_dir(config))!r}]\n"
        # Refuse any `sunaba` import, installed or not: the copy must stand on its own.
        "sys.modules['sunaba'] = None\n"
        f"import {PORTABLE_PACKAGE}.exchange.plugin, {PORTABLE_PACKAGE}.grading.worker\n"
        "print('ok')"
    )
    result = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr


def test_dates_read_as_japanese_staff_write_them():
    moment = datetime(2025, 6, 30, 8, 0, tzinfo=UTC)
    assert format_ja(moment) == "2025年6月30日（月） 17:00"
    assert (
        format_ja(moment.astimezone(timezone(timedelta(hours=-5)))) == "2025年6月30日（月） 17:00"
    )
    assert format_ja(None) == "なし"


def test_without_courses_nobody_is_let_in_to_the_exchange(tmp_path):
    # With synced courses everyone may open マイコース (tests/integration/courses); a site
    # with none grants nothing, and leaves what another area granted alone.
    c = Config()
    c.JupyterHub.extra_user_scopes = ["access:services!service=showcase"]
    hooks.update(c, config_for(tmp_path), FACTS)
    assert c.JupyterHub.extra_user_scopes == ["access:services!service=showcase"]
    fresh = Config()
    hooks.update(fresh, config_for(tmp_path), FACTS)
    assert "extra_user_scopes" not in fresh.JupyterHub
