"""Stopping and restarting the hub: nothing left running, nothing lost."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def test_restart_keeps_accounts_and_files_and_stop_leaves_nothing(fresh_hub):
    hub = fresh_hub
    hub.start()
    learner = hub.new_learner("hanako")
    hub.spawn(learner)
    saved = hub.run(learner, "open('report.txt','w').write('令和6年度 報告'); print('ok')")
    assert saved["stdout"].strip() == "ok", saved

    seconds = hub.stop()
    assert seconds < 15, hub.log_tail()
    assert hub.processes_left() == []

    hub.start()
    hub.login(learner)  # same password: the account survived
    hub.spawn(learner)
    outcome = hub.run(learner, "print(open('report.txt').read())")
    assert outcome["stdout"].strip() == "令和6年度 報告"
    admin_names = {u["name"] for u in hub.api("GET", "/users").json()}
    assert "hanako" in admin_names

    assert hub.stop() < 15
    assert hub.processes_left() == []
