"""A real hub from hub_config/: accounts, a sandboxed server, a kernel through the proxy."""

from __future__ import annotations

import stat

import pytest

pytestmark = pytest.mark.integration


def test_signup_approval_spawn_and_kernel(hub):
    learner = hub.new_learner("kenta")
    seconds = hub.spawn(learner)
    assert seconds < 60
    outcome = hub.run(learner, "5 * 4")
    assert outcome["status"] == "ok", outcome
    assert outcome["result"] == "20"


def test_server_runs_as_own_unix_account_with_private_home(hub):
    learner = hub.new_learner("mika")
    hub.spawn(learner)
    outcome = hub.run(
        learner, "import os, pwd; print(pwd.getpwuid(os.getuid()).pw_name, os.getcwd())"
    )
    assert outcome["status"] == "ok", outcome
    account, cwd = outcome["stdout"].split()
    assert account == hub.account_of(learner)
    assert cwd == str(hub.home_of(learner))
    mode = stat.S_IMODE(hub.home_of(learner).stat().st_mode)
    assert mode == 0o700


def test_users_created_through_rest_api(hub):
    response = hub.api("POST", "/users", json={"usernames": ["rest-a", "rest-b"]})
    assert response.status_code == 201, response.text
    names = {u["name"] for u in hub.api("GET", "/users").json()}
    assert {"rest-a", "rest-b"} <= names
    # A name that cannot become a Unix account is refused by the hub, not mangled.
    bad = hub.api("POST", "/users/Bad Name!")
    assert bad.status_code == 400


def test_unapproved_signup_cannot_log_in(hub):
    hub.ensure_admin()
    pending = hub.signup("waiting")
    with pytest.raises(AssertionError, match="login of waiting failed"):
        hub.login(pending)


def test_learner_environment_is_japanese_and_quiet(hub):
    learner = hub.new_learner("yui")
    hub.spawn(learner)
    code = (
        "import json, os, sys\n"
        "from jupyterlab.labapp import LabApp\n"
        "p = os.path.join(sys.prefix, 'share/jupyter/lab/settings/overrides.json')\n"
        "s = json.load(open(p))\n"
        "print(s['@jupyterlab/translation-extension:plugin']['locale'])\n"
        "print(s['@jupyterlab/apputils-extension:notification']['fetchNews'])\n"
        "import matplotlib\n"
        "matplotlib.use('Agg')\n"
        "import matplotlib.pyplot as plt\n"
        "from matplotlib import font_manager\n"
        "fig, ax = plt.subplots(); ax.set_title('人口ピラミッド')\n"
        "fig.canvas.draw()\n"
        "print(font_manager.findfont(matplotlib.rcParams['font.sans-serif'][0], fallback_to_default=False))\n"
    )
    outcome = hub.run(learner, code)
    assert outcome["status"] == "ok", outcome
    lines = outcome["stdout"].splitlines()
    assert lines[0] == "ja_JP"
    assert lines[1] == "false"
    assert "ipaexg" in lines[2].lower() or "ipag" in lines[2].lower()
    assert "Glyph" not in outcome["stderr"]  # matplotlib warns "Glyph ... missing" on tofu


def test_first_admin_is_created_with_private_password(hub):
    password_file = hub.state_dir / "admin-password.txt"
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(hub.state_dir.stat().st_mode) == 0o700
    admin = hub.ensure_admin()
    assert hub.api("GET", "/users/admin", token=admin.token).json()["admin"] is True
    # Nobody can take the admin name by signing up first.
    squatter = hub.signup("admin", "another-long-password")
    with pytest.raises(AssertionError, match="login of admin failed"):
        hub.login(squatter)
