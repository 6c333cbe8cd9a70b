"""Translate a validated SiteConfig into JupyterHub traits.

Each `update_<area>` is a pure function of (config, facts) that only *sets* traits on a traitlets
Config, never appends or reads back, so the same input always gives the same hub. Facts that depend
on the machine (the isolation level, tokens, where files are) are found once by the caller and
passed in, which keeps these functions testable on a fresh `traitlets.config.Config()`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from sunaba.config.schema import SiteConfig, parse_size
from sunaba.core.state import SERVICE_SCOPES, StatePaths, public_datasets_dir
from sunaba.hub.areas import area_hooks
from sunaba.hub.identity_config import update_identity_provider
from sunaba.sandbox.limits import learner_cgroup_parent

# A hub name becomes part of a Unix account name (prefix + name, 32 characters at most).
USERNAME_PATTERN = r"^[a-z][a-z0-9_-]{0,23}$"
# What JupyterHub's own `server` role grants a server token.
DEFAULT_SERVER_SCOPES = ["users:activity!user", "access:servers!server"]


@dataclass(frozen=True)
class HubFacts:
    """What the machine decided: resolved isolation mode and where things are."""

    sandbox_mode: str
    hub_config_dir: Path
    service_tokens: dict[str, str] = field(default_factory=dict)
    proxy_token: str = ""  # the API token of the proxy `sunaba up` runs
    python: str = sys.executable
    cpu_count: int = 2
    memory_bytes: int = 0  # 0: unknown
    # What each area read from disk before composition (`areas.gather_areas`), by area name.
    areas: dict[str, object] = field(default_factory=dict)


# Memory of one active learner (server and a kernel with pandas, at the peak of a class;
# `python benchmarks/bench_class.py --sizes …` prints it). Forked from the fast-start server with
# pre-imported kernels, the class shares the imported pages: 135 MiB was measured in a class of
# 120, and 160 leaves room for a course's own data. Servers and kernels that import everything
# themselves use about twice that.
SHARED_LEARNER_BYTES = 160 * 2**20
ACTIVE_LEARNER_BYTES = 320 * 2**20
# Active learners one CPU core carried with a single cell's p95 under 1 s and a check's under
# 500 ms (a class of 120 on 2 cores, measured with `bench_class.py --sizes`).
LEARNERS_PER_CORE = 60


def spawn_limits(config: SiteConfig, facts: HubFacts) -> tuple[int, int]:
    """(concurrent spawns, active servers): the site's numbers, or sized from the machine:
    what its memory holds and its cores carry, whichever is fewer."""
    cores = max(1, facts.cpu_count)
    concurrent = config.hub.concurrent_spawn_limit or 5 * cores
    active = config.hub.active_server_limit
    if not active and facts.memory_bytes:
        sandbox, mode = config.sandbox, facts.sandbox_mode
        shared = sandbox.forks_servers(mode) and sandbox.preloads_kernels(mode)
        per_learner = SHARED_LEARNER_BYTES if shared else ACTIVE_LEARNER_BYTES
        by_memory = int(facts.memory_bytes * 0.8) // per_learner
        active = max(1, min(by_memory, LEARNERS_PER_CORE * cores))
    return concurrent, active


def venv_bin(config: SiteConfig, name: str) -> str:
    return str(Path(config.hub.prefix) / "venv" / "bin" / name)


def update_network(c, config: SiteConfig, facts: HubFacts) -> None:
    c.JupyterHub.ip = config.hub.ip
    c.JupyterHub.port = config.hub.port
    c.JupyterHub.base_url = config.hub.base_url
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = config.hub.hub_port
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{config.hub.proxy_api_port}"
    # `sunaba up` runs the proxy (`sunaba.runtime.proxyprocess`), so that it and its routes
    # outlive a reload of the hub; the hub only keeps its routes in line.
    c.ConfigurableHTTPProxy.should_start = False
    c.ConfigurableHTTPProxy.auth_token = facts.proxy_token


def update_state(c, config: SiteConfig, facts: HubFacts) -> None:
    paths = StatePaths.from_config(config)
    c.JupyterHub.db_url = paths.hub_db_url(config)
    c.JupyterHub.cookie_secret_file = str(paths.cookie_secret)
    c.JupyterHub.pid_file = str(paths.pid_file)
    # `sunaba up` owns the lifetime of everything: stopping the hub stops every server (a
    # reload asks the hub to keep them, `sunaba.core.hubreload`).
    c.JupyterHub.cleanup_servers = True
    c.JupyterHub.log_level = config.hub.log_level


def update_auth(c, config: SiteConfig, facts: HubFacts) -> None:
    c.Authenticator.admin_users = set(config.hub.admin_users)
    c.Authenticator.username_pattern = USERNAME_PATTERN
    if config.auth.type in ("oidc", "ldap"):
        update_identity_provider(c, config)
        return
    native = config.auth.native
    c.JupyterHub.authenticator_class = "sunaba.hub.auth.SunabaAuthenticator"
    c.SunabaAuthenticator.language = config.site.language
    # NativeAuthenticator only lets approved accounts through `authenticate`; the hub-level
    # allow list would otherwise refuse every approved user.
    c.Authenticator.allow_all = True
    c.NativeAuthenticator.open_signup = native.open_signup
    c.NativeAuthenticator.minimum_password_length = native.minimum_password_length
    c.NativeAuthenticator.check_common_password = native.check_common_password
    c.NativeAuthenticator.allowed_failed_logins = native.allowed_failed_logins
    c.NativeAuthenticator.seconds_before_next_try = native.seconds_before_next_try


def activity_interval(config: SiteConfig) -> int:
    """Seconds between two reports of a learner's activity to the hub (by the server, and by the
    hub's poll of the proxy): a quarter of the idle timeout, at most JupyterHub's 300 s, so that
    the culler never takes a learner who works for one who left."""
    if not config.culler.enabled:
        return 300
    return max(10, min(300, config.culler.timeout // 4))


def learner_env(config: SiteConfig) -> dict[str, str]:
    prefix = Path(config.hub.prefix)
    env = {
        "JUPYTERHUB_ACTIVITY_INTERVAL": str(activity_interval(config)),
        "PATH": f"{prefix / 'venv' / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "VIRTUAL_ENV": str(prefix / "venv"),
        "LANG": "C.UTF-8",
        "MATPLOTLIBRC": str(prefix / "etc" / "matplotlibrc"),
        "SUNABA_DATASETS_PATH": str(public_datasets_dir(config)),
        "SUNABA_LANGUAGE": config.site.language,
    }
    env.update(config.learner.extra_env)
    return env


def update_spawner(c, config: SiteConfig, facts: HubFacts) -> None:
    sandbox = config.sandbox
    c.JupyterHub.spawner_class = "sunaba.sandbox.spawner.SandboxSpawner"
    c.Spawner.cmd = [venv_bin(config, "jupyterhub-singleuser")]
    c.Spawner.default_url = config.learner.default_url
    c.Spawner.start_timeout = config.learner.start_timeout
    c.Spawner.http_timeout = config.learner.start_timeout
    area_env = {
        k: v for hook in area_hooks("server_environment") for k, v in hook(config, facts).items()
    }
    c.Spawner.environment = {**area_env, **learner_env(config)}  # the site's extra_env wins
    # Nothing from the hub's own environment leaks into a learner's server.
    c.Spawner.env_keep = []
    c.JupyterHub.last_activity_interval = activity_interval(config)
    c.SandboxSpawner.sandbox_mode = facts.sandbox_mode
    c.SandboxSpawner.user_prefix = sandbox.user_prefix
    c.SandboxSpawner.home_root = sandbox.home_root
    c.SandboxSpawner.cgroup_parent = learner_cgroup_parent(config.hub.state_dir)
    c.SandboxSpawner.kernels_over_ipc = config.network.firewall
    zygote = StatePaths.from_config(config).zygote_socket
    c.SandboxSpawner.zygote_socket = (
        str(zygote) if sandbox.forks_servers(facts.sandbox_mode) else ""
    )
    c.SandboxSpawner.preload_kernels = sandbox.preloads_kernels(facts.sandbox_mode)
    area_paths = [path for hook in area_hooks("readonly_paths") for path in hook(config)]
    c.SandboxSpawner.readonly_paths = [config.hub.prefix, *area_paths, *sandbox.readonly_paths]
    scopes = [scope for hook in area_hooks("server_scopes") for scope in hook(config)]
    if scopes:
        c.Spawner.server_token_scopes = [*DEFAULT_SERVER_SCOPES, *scopes]
    c.SandboxSpawner.memory_limit_bytes = parse_size(sandbox.memory_limit)
    c.SandboxSpawner.cpu_limit_cores = sandbox.cpu_limit
    c.SandboxSpawner.max_processes = sandbox.max_processes
    c.SandboxSpawner.max_file_bytes = parse_size(sandbox.max_file_size)
    concurrent, active = spawn_limits(config, facts)
    c.JupyterHub.concurrent_spawn_limit = concurrent
    c.JupyterHub.active_server_limit = active


def update_templates(c, config: SiteConfig, facts: HubFacts) -> None:
    templates = facts.hub_config_dir / "templates"
    paths = [str(templates / "common")]
    if config.site.language == "ja":
        paths.insert(0, str(templates / "ja"))
    c.JupyterHub.template_paths = paths
    c.JupyterHub.template_vars = {
        "sunaba_site_name": config.site.name,
        "sunaba_organisation": config.site.organisation,
        "sunaba_language": config.site.language,
        "sunaba_native_auth": config.auth.type == "native",
    }


MANAGED_SERVICE_TIMEOUT = 180  # seconds


def hub_services_and_roles(config: SiteConfig, facts: HubFacts) -> tuple[list, list]:
    """Entries for `c.JupyterHub.services` and `c.JupyterHub.load_roles`, every area's included."""
    services = []
    roles = []
    if config.culler.enabled:
        culler = config.culler
        services.append(
            {
                "name": "idle-culler",
                "command": [
                    facts.python,
                    "-m",
                    "jupyterhub_idle_culler",
                    f"--timeout={culler.timeout}",
                    f"--cull-every={culler.every}",
                    f"--max-age={culler.max_age}",
                ],
            }
        )
        roles.append(
            {
                "name": "idle-culler",
                "scopes": SERVICE_SCOPES["idle-culler"],
                "services": ["idle-culler"],
            }
        )
    admin_token = facts.service_tokens.get("sunaba-admin")
    if admin_token:
        services.append({"name": "sunaba-admin", "api_token": admin_token})
        roles.append(
            {
                "name": "sunaba-admin",
                "scopes": SERVICE_SCOPES["sunaba-admin"],
                "services": ["sunaba-admin"],
            }
        )
    for hook in area_hooks("services"):
        services.extend(hook(config, facts))
    for hook in area_hooks("roles"):
        roles.extend(hook(config, facts))
    for service in services:
        if "command" in service and "url" in service:
            # The hub gives up on itself when a service it starts is not up in time; many courses
            # (one formgrader each) starting at once on two cores took longer than the default 30 s.
            service.setdefault("timeout", MANAGED_SERVICE_TIMEOUT)
    return services, roles


def update_services(c, config: SiteConfig, facts: HubFacts) -> None:
    c.JupyterHub.services, c.JupyterHub.load_roles = hub_services_and_roles(config, facts)


def update_areas(c, config: SiteConfig, facts: HubFacts) -> None:
    for update in area_hooks("update"):
        update(c, config, facts)


UPDATES = (
    update_network,
    update_state,
    update_auth,
    update_spawner,
    update_templates,
    update_services,
    update_areas,
)


def apply(config: SiteConfig, c, facts: HubFacts) -> None:
    for update in UPDATES:
        update(c, config, facts)
