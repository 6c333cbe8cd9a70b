"""The showcase's area hooks on a fresh traitlets Config: the service, its least-privilege
role, and the one scope every hub user gets (to reach the service at all); and the names of
apps' accounts."""

from __future__ import annotations

import pwd
from pathlib import Path

from traitlets.config import Config

from sunaba.config.loader import validate
from sunaba.hub.apply import HubFacts
from sunaba.showcase import hub as hooks
from sunaba.showcase.apphome import is_app_account
from sunaba.showcase.paths import app_account, app_id_of, learner_account
from tests.support.config import FACTS, applied


def test_the_service_is_managed_by_the_hub_on_loopback():
    c = applied({"showcase": {"port": 8093}})
    service = next(s for s in c.JupyterHub.services if s["name"] == "showcase")
    assert service["url"] == "http://127.0.0.1:8093"
    assert service["command"] == ["/opt/sunaba/venv/bin/python", "-m", "sunaba.showcase.service"]
    assert service["oauth_no_confirm"] is True
    assert service["environment"]["SUNABA_SHOWCASE_MODE"] == "full"
    assert "api_token" not in service  # the hub hands a managed service its token


def test_its_role_reads_names_and_groups_and_manages_groups_nothing_more():
    c = applied()
    role = next(r for r in c.JupyterHub.load_roles if r["name"] == "showcase-service")
    assert role["services"] == ["showcase"]
    assert set(role["scopes"]) == {"read:users:name", "read:users:groups", "admin:groups"}
    for too_much in ("admin:users", "admin:servers", "tokens", "read:users", "access:servers"):
        assert too_much not in role["scopes"]


def test_every_user_may_reach_the_service_and_other_scopes_are_kept():
    c = Config()
    c.JupyterHub.extra_user_scopes = ["access:services!service=exchange"]
    hooks.update(c, validate({}, "test"), FACTS)
    assert set(c.JupyterHub.extra_user_scopes) == {
        "access:services!service=exchange",
        "access:services!service=showcase",
        "read:services!service=showcase",  # `sunaba showcase publish` looks it up
    }
    # A learner's server token may call the showcase (the terminal CLI), but never carries a
    # `read:services` filter: with one, the hub answers 404 where nbgrader's exchange plugin
    # needs 403 to tell "in no course".
    assert hooks.server_scopes(validate({}, "test")) == ["access:services!service=showcase"]


def test_learners_servers_get_the_access_scope_beside_jupyterhubs_own_and_the_address():
    c = applied({"showcase": {"port": 8093}, "hub": {"base_url": "/lab-site/"}})
    scopes = c.Spawner.server_token_scopes
    assert {"users:activity!user", "access:servers!server"} <= set(scopes)  # the server role's
    assert "access:services!service=showcase" in scopes
    assert not any(s.startswith("read:services") and s.endswith("=showcase") for s in scopes)
    url = c.Spawner.environment["SUNABA_SHOWCASE_URL"]
    assert url == "http://127.0.0.1:8093/lab-site/services/showcase/"


def test_no_address_without_the_showcase_or_on_kubernetes():
    config = validate({"showcase": {"port": 8093}}, "test")
    k8s = HubFacts(sandbox_mode="kubernetes", hub_config_dir=Path("/x"))
    assert hooks.server_environment(config, k8s) == {}
    off = validate({"showcase": {"enabled": False}}, "test")
    assert hooks.server_environment(off, FACTS) == {}
    assert hooks.server_scopes(off) == []


def test_a_free_port_is_picked_once_per_site():
    config = validate({"hub": {"state_dir": "/tmp/sunaba-unit-port"}}, "test")
    first = hooks.service_port(config)
    assert first > 0 and hooks.service_port(config) == first


def test_no_showcase_without_isolation_or_when_turned_off():
    facts = HubFacts(sandbox_mode="none", hub_config_dir=Path("/x"))
    assert "showcase" not in [s["name"] for s in applied(facts=facts).JupyterHub.services]
    off = applied({"showcase": {"enabled": False}})
    assert "showcase" not in [s["name"] for s in off.JupyterHub.services]
    assert "extra_user_scopes" not in off.JupyterHub


def test_an_apps_account_name_leads_back_to_the_app_and_a_learners_never_does():
    config = validate({"sandbox": {"user_prefix": "sb-"}}, "test")
    assert app_account(config, 12) == "sb-_app12"
    assert app_id_of(config, "sb-_app12") == 12
    for other in ("sb-_app", "sb-_app12x", "sb-app12", learner_account(config, "app12")):
        assert app_id_of(config, other) is None


def test_a_graders_account_with_an_apps_name_is_never_taken_for_the_apps():
    """A course may be called `app3`: its grader account is then named like app 3's."""
    homes = Path("/srv/homes")

    def entry(name: str, home: str) -> pwd.struct_passwd:
        return pwd.struct_passwd((name, "x", 1500, 1500, "", home, "/usr/sbin/nologin"))

    assert is_app_account(entry("sb-_app3", "/srv/homes/sb-_app3"), homes)
    assert not is_app_account(entry("sb-_app3", "/var/lib/sunaba-courses/app3"), homes)
