"""Everything a Sunaba server needs besides the checkout and the site config, rendered from it."""

from __future__ import annotations

from pathlib import Path

from sunaba.config.schema import SiteConfig
from sunaba.deploy.rendered import RenderedFile, check_no_secrets, secret_values
from sunaba.deploy.services import hub_services, target_facts
from sunaba.deploy.vm_nginx import render_logrotate, render_nginx
from sunaba.deploy.vm_units import (
    backup_units,
    external_service_commands,
    hub_unit,
    service_unit,
)

# Where each rendered folder goes on the server (used by `sunaba deploy vm install`).
INSTALL_DIRS = {
    "systemd": "/etc/systemd/system",
    "nginx": "/etc/nginx/conf.d",
    "logrotate": "/etc/logrotate.d",
}


def vm_facts(config: SiteConfig):
    vm = config.deploy.vm
    python = str(Path(config.hub.prefix) / "venv" / "bin" / "python")
    return target_facts(python, Path(vm.source_dir) / "hub_config")


def render_vm(config: SiteConfig) -> list[RenderedFile]:
    services = hub_services(config, vm_facts(config))
    files = [hub_unit(config, services), *backup_units(config)]
    for name, command in sorted(external_service_commands(config, services).items()):
        files.append(service_unit(config, name, command))
    files += [render_nginx(config), render_logrotate(config), _readme(files)]
    check_no_secrets(files, secret_values(config))
    return sorted(files, key=lambda f: f.path)


def _readme(files: list[RenderedFile]) -> RenderedFile:
    lines = [
        "Files for a Sunaba server, rendered from the site config.",
        "`sunaba deploy vm install` puts them in place; by hand:",
        "",
    ]
    for folder, target in INSTALL_DIRS.items():
        lines.append(f"  {folder}/  ->  {target}/")
    lines += [
        "  nginx/sunaba.conf needs the TLS certificate named in deploy.vm.tls_certificate.",
        "",
        "Then: systemctl daemon-reload; systemctl enable --now sunaba-hub sunaba-backup.timer;",
        "nginx -t && systemctl reload nginx. See docs/how-to/deploy-vm.md.",
        "",
    ]
    return RenderedFile("README.txt", "\n".join(lines))
