"""The apply functions on a fresh traitlets Config: no hub needed."""

from __future__ import annotations

import dataclasses

import pytest

from sunaba.config.loader import validate
from sunaba.hub.apply import learner_env
from sunaba.hub.facts import memory_bytes
from sunaba.runtime.proxyprocess import proxy_command
from tests.support.config import FACTS, applied


def test_network_binds_loopback_by_default():
    c = applied()
    assert c.JupyterHub.ip == "127.0.0.1"
    assert c.JupyterHub.port == 8000
    assert c.JupyterHub.hub_ip == "127.0.0.1"
    assert c.ConfigurableHTTPProxy.api_url == "http://127.0.0.1:8001"
    # `sunaba up` runs the proxy; the hub talks to it with the token from the state dir.
    assert c.ConfigurableHTTPProxy.should_start is False
    assert c.ConfigurableHTTPProxy.auth_token == "proxy-token"


def test_the_proxy_sunaba_up_runs_listens_where_the_hub_would_have_it():
    config = validate({"hub": {"port": 8100, "proxy_api_port": 8101, "hub_port": 8102}}, "test")
    command = proxy_command(config)
    assert command[0] == "/opt/sunaba/proxy/node_modules/.bin/configurable-http-proxy"
    options = dict(zip(command[1::2], command[2::2], strict=True))
    assert options == {
        "--ip": "127.0.0.1",
        "--port": "8100",
        "--api-ip": "127.0.0.1",
        "--api-port": "8101",
        "--error-target": "http://127.0.0.1:8102/hub/error",
        "--log-level": "info",
    }


def test_state_lives_in_state_dir():
    c = applied({"hub": {"state_dir": "/data/sunaba"}})
    assert c.JupyterHub.db_url == "sqlite:////data/sunaba/jupyterhub.sqlite"
    assert c.JupyterHub.cookie_secret_file == "/data/sunaba/jupyterhub_cookie_secret"
    assert c.JupyterHub.cleanup_servers is True


def test_native_auth_with_admin_and_safe_usernames():
    c = applied({"hub": {"admin_users": ["kanri"]}, "auth": {"native": {"open_signup": True}}})
    assert c.JupyterHub.authenticator_class == "sunaba.hub.auth.SunabaAuthenticator"
    assert c.Authenticator.admin_users == {"kanri"}
    assert c.NativeAuthenticator.open_signup is True
    pattern = c.Authenticator.username_pattern
    import re

    assert re.match(pattern, "tanaka-01")
    for bad in ("root/../x", "Tanaka", "1abc", "a" * 30, "田中"):
        assert not re.match(pattern, bad)


def test_spawner_limits_and_environment():
    c = applied({"sandbox": {"memory_limit": "512M", "cpu_limit": 0.5, "max_processes": 64}})
    assert c.JupyterHub.spawner_class == "sunaba.sandbox.spawner.SandboxSpawner"
    assert c.SandboxSpawner.sandbox_mode == "full"
    assert c.SandboxSpawner.memory_limit_bytes == 512 * 1024**2
    assert c.SandboxSpawner.cpu_limit_cores == 0.5
    assert c.SandboxSpawner.max_processes == 64
    assert c.Spawner.cmd == ["/opt/sunaba/venv/bin/jupyterhub-singleuser"]
    assert c.Spawner.env_keep == []
    assert "/opt/sunaba" in c.SandboxSpawner.readonly_paths
    env = c.Spawner.environment
    assert env["MATPLOTLIBRC"] == "/opt/sunaba/etc/matplotlibrc"
    assert env["SUNABA_DATASETS_PATH"] == "/opt/sunaba/share/datasets"


def test_no_secret_reaches_learner_environment():
    config = validate({"learner": {"extra_env": {"TZ": "Asia/Tokyo"}}}, "test")
    env = learner_env(config)
    assert env["TZ"] == "Asia/Tokyo"
    assert not any("TOKEN" in key or "SECRET" in key for key in env)


@pytest.mark.parametrize(
    ("language", "first"), [("ja", "templates/ja"), ("en", "templates/common")]
)
def test_templates_follow_language(language, first):
    c = applied({"site": {"language": language}})
    assert c.JupyterHub.template_paths[0].endswith(first)
    assert c.JupyterHub.template_vars["sunaba_language"] == language


def test_services_have_least_privilege():
    c = applied()
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert set(roles["idle-culler"]["scopes"]) == {
        "list:users",
        "read:users:activity",
        "read:servers",
        "delete:servers",
    }
    assert "admin:users" not in roles["idle-culler"]["scopes"]
    names = [s["name"] for s in c.JupyterHub.services]
    assert "idle-culler" in names and "sunaba-admin" in names
    culler = next(s for s in c.JupyterHub.services if s["name"] == "idle-culler")
    assert "--timeout=3600" in culler["command"]


def test_services_the_hub_starts_may_take_minutes_to_come_up():
    services = applied().JupyterHub.services
    started = [s for s in services if "command" in s and "url" in s]
    assert {s["name"] for s in started} >= {"sunaba-exchange", "sunaba-checks"}
    assert all(s["timeout"] == 180 for s in started), started
    assert all("timeout" not in s for s in services if "command" not in s)


def test_culler_can_be_turned_off():
    c = applied({"culler": {"enabled": False}})
    assert "idle-culler" not in [s["name"] for s in c.JupyterHub.services]


@pytest.mark.parametrize(
    ("culler", "interval"),
    [
        ({"timeout": 60}, 15),
        ({"timeout": 600}, 150),
        ({"timeout": 3600}, 300),
        ({"enabled": False}, 300),
    ],
)
def test_servers_report_activity_often_enough_for_the_idle_timeout(culler, interval):
    c = applied({"culler": culler})
    assert c.Spawner.environment["JUPYTERHUB_ACTIVITY_INTERVAL"] == str(interval)
    assert c.JupyterHub.last_activity_interval == interval


def test_apply_is_deterministic():
    assert applied() == applied()


def test_spawn_limits_are_sized_from_the_machine_by_default():
    facts = dataclasses.replace(FACTS, cpu_count=2, memory_bytes=24 * 2**30)
    c = applied(facts=facts)
    assert c.JupyterHub.concurrent_spawn_limit == 10
    # Fast start with pre-imported kernels: 80 % of 24 GiB / 160 MiB = 122, but 2 cores carry 120.
    assert c.JupyterHub.active_server_limit == 120
    more_cores = applied(facts=dataclasses.replace(facts, cpu_count=8))
    assert more_cores.JupyterHub.active_server_limit == 122


def test_servers_that_import_for_themselves_are_sized_by_their_own_memory():
    facts = dataclasses.replace(FACTS, cpu_count=2, memory_bytes=24 * 2**30)
    for site in ({"sandbox": {"fast_start": False}}, {"sandbox": {"preload_kernels": False}}):
        c = applied(site, facts)
        assert c.JupyterHub.active_server_limit == 61, site  # 80 % of 24 GiB / 320 MiB
    bubblewrap = applied(facts=dataclasses.replace(facts, sandbox_mode="bubblewrap"))
    assert bubblewrap.JupyterHub.active_server_limit == 61


def test_spawn_limits_from_the_site_config_win():
    facts = dataclasses.replace(FACTS, cpu_count=64, memory_bytes=512 * 2**30)
    c = applied({"hub": {"concurrent_spawn_limit": 3, "active_server_limit": 25}}, facts)
    assert (c.JupyterHub.concurrent_spawn_limit, c.JupyterHub.active_server_limit) == (3, 25)


def test_no_active_limit_is_guessed_when_the_memory_is_unknown():
    c = applied(facts=dataclasses.replace(FACTS, memory_bytes=0))
    assert c.JupyterHub.active_server_limit == 0


def test_the_machine_memory_is_read_from_meminfo(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24576000 kB\nMemFree:  1 kB\n")
    assert memory_bytes(meminfo) == 24576000 * 1024
    assert memory_bytes(tmp_path / "absent") == 0


@pytest.mark.parametrize(
    ("setting", "mode", "fast_start", "preloaded"),
    [
        ("auto", "full", True, True),  # shared through the fast-start server
        ("auto", "full", False, False),  # each server would import pandas itself
        ("auto", "bubblewrap", True, False),  # no fast start below full isolation
        (True, "bubblewrap", True, True),  # asked for: the memory is the site's choice
        (False, "full", True, False),
    ],
)
def test_kernels_are_preloaded_where_the_fast_start_server_shares_them(
    setting, mode, fast_start, preloaded
):
    site = {"sandbox": {"preload_kernels": setting, "fast_start": fast_start}}
    c = applied(site, dataclasses.replace(FACTS, sandbox_mode=mode))
    assert c.SandboxSpawner.preload_kernels is preloaded
    assert bool(c.SandboxSpawner.zygote_socket) is (fast_start and mode == "full")
