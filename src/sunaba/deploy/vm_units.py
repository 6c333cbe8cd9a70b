"""systemd units for a Sunaba server: the hub, any service an area runs outside the hub, and the
nightly backup."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import make_url

from sunaba.config.schema import SiteConfig
from sunaba.core.state import StatePaths
from sunaba.deploy.rendered import RenderedFile, comment_header
from sunaba.deploy.services import HubService
from sunaba.hub.areas import area_hooks

# Hardening that leaves the sandbox working. The hub must stay root: it creates learners' Unix
# accounts (/etc/passwd), switches to them, writes cgroup v1 limits under /sys/fs/cgroup and
# starts bubblewrap. So /etc, /home and /sys/fs/cgroup stay writable (no ProtectSystem=full,
# ProtectHome or ProtectControlGroups), and nothing that would stop user namespaces is set.
HUB_HARDENING = (
    "ProtectSystem=true",
    "PrivateTmp=true",
    "NoNewPrivileges=true",
    "RestrictSUIDSGID=true",
    "ProtectKernelModules=true",
    "ProtectKernelLogs=true",
    "ProtectClock=true",
    "LockPersonality=true",
    "RestrictRealtime=true",
    "UMask=0077",
)


def uses_local_postgresql(config: SiteConfig) -> bool:
    for url in (config.hub.db_url, config.records.db_url):
        if not url:
            continue
        parsed = make_url(url)
        if parsed.get_backend_name() == "postgresql" and parsed.host in (
            None,
            "",
            "localhost",
            "127.0.0.1",
            "::1",
        ):
            return True
    return False


def sunaba_command(config: SiteConfig, *args: str) -> str:
    sunaba = Path(config.hub.prefix) / "venv" / "bin" / "sunaba"
    return " ".join([str(sunaba), "--config", config.deploy.vm.config_file, *args])


def _environment(config: SiteConfig) -> list[str]:
    paths = StatePaths.from_config(config)
    return [
        f"Environment=SUNABA_CONFIG={config.deploy.vm.config_file}",
        # libpq reads the database password from here: it never appears in a unit or config.
        f"Environment=PGPASSFILE={paths.root / 'pgpass'}",
        "Environment=LANG=C.UTF-8",
    ]


def _after(config: SiteConfig) -> str:
    after = ["network-online.target"]
    if uses_local_postgresql(config):
        after.append("postgresql.service")
    return " ".join(after)


def _firewall_steps(config: SiteConfig) -> list[str]:
    """The learners' network policy: `sunaba up` installs it (with the ports it pins) and removes
    it when it stops; these also cover a start that fails early and a run that was killed."""
    if not config.network.firewall:
        return []
    return [
        f"ExecStartPre={sunaba_command(config, 'firewall', 'install')}",
        f"ExecStopPost={sunaba_command(config, 'firewall', 'remove')}",
    ]


def hub_unit(config: SiteConfig, services: list[HubService]) -> RenderedFile:
    vm = config.deploy.vm
    managed = [s.name for s in services if s.managed]
    lines = [
        comment_header().rstrip(),
        "# The hub starts its managed services itself and restarts one that exits:",
        f"#   {', '.join(managed) if managed else '(none)'}",
        "[Unit]",
        "Description=Sunaba learning hub (JupyterHub)",
        f"After={_after(config)}",
        f"Wants={_after(config)}",
        "",
        "[Service]",
        "Type=simple",
        *_environment(config),
        f"WorkingDirectory={vm.source_dir}",
        *_firewall_steps(config),
        f"ExecStart={sunaba_command(config, 'up')}",
        # SIGHUP: `sunaba up` starts the hub again with the config as it is now, learners'
        # servers kept running (what `sunaba courses sync` asks for when courses come or go).
        "ExecReload=/bin/kill -HUP $MAINPID",
        # `sunaba up` forwards SIGTERM to the hub and cleans up learners' servers itself;
        # whatever is left after the timeout is killed.
        "KillMode=mixed",
        "TimeoutStopSec=30",
        "Restart=on-failure",
        "RestartSec=5",
        "LimitNOFILE=65536",
        *HUB_HARDENING,
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ]
    return RenderedFile("systemd/sunaba-hub.service", "\n".join(lines))


def external_service_commands(config: SiteConfig, services: list[HubService]) -> dict:
    """Commands of services the hub does not start, from the areas' `service_commands` hook."""
    external = {s.name for s in services if not s.managed and s.serves_http}
    commands: dict[str, list[str]] = {}
    for hook in area_hooks("service_commands"):
        for name, command in hook(config).items():
            if name in external:
                commands[name] = list(command)
    return commands


def service_unit(config: SiteConfig, name: str, command: list[str]) -> RenderedFile:
    lines = [
        comment_header().rstrip(),
        "[Unit]",
        f"Description=Sunaba service {name}",
        "After=sunaba-hub.service",
        "PartOf=sunaba-hub.service",
        "",
        "[Service]",
        "Type=simple",
        *_environment(config),
        f"WorkingDirectory={config.deploy.vm.source_dir}",
        "ExecStart=" + " ".join(command),
        "Restart=on-failure",
        "RestartSec=5",
        *HUB_HARDENING,
        "",
        "[Install]",
        "WantedBy=sunaba-hub.service",
        "",
    ]
    return RenderedFile(f"systemd/sunaba-{name}.service", "\n".join(lines))


def backup_units(config: SiteConfig) -> list[RenderedFile]:
    vm = config.deploy.vm
    service = [
        comment_header().rstrip(),
        "[Unit]",
        "Description=Sunaba backup (databases, homes, course dirs, showcase store)",
        f"After={_after(config)}",
        "",
        "[Service]",
        "Type=oneshot",
        *_environment(config),
        f"WorkingDirectory={vm.source_dir}",
        "ExecStart="
        + sunaba_command(config, "backup", "--dir", vm.backup_dir, "--keep", str(vm.backup_keep)),
        "Nice=10",
        "IOSchedulingClass=idle",
        "",
    ]
    timer = [
        comment_header().rstrip(),
        "[Unit]",
        "Description=Nightly Sunaba backup",
        "",
        "[Timer]",
        f"OnCalendar=*-*-* {vm.backup_time}:00",
        "Persistent=true",
        "RandomizedDelaySec=600",
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
    ]
    return [
        RenderedFile("systemd/sunaba-backup.service", "\n".join(service)),
        RenderedFile("systemd/sunaba-backup.timer", "\n".join(timer)),
    ]
