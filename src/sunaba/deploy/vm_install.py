"""`sunaba deploy vm install`: make this Debian or Ubuntu server a Sunaba server, idempotently.

Each `ensure_*` step returns early when its thing is already in place and says whether it changed
anything, so running the installer again after editing the site config only applies the change.
`--root` installs into a staging directory instead of / (packages, database and services are then
left alone), which is also how the installer is tested.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path

from sqlalchemy import make_url

from sunaba.config.schema import SiteConfig
from sunaba.core.files import write_if_changed
from sunaba.core.state import StatePaths, ensure_state_dir
from sunaba.deploy.local_install import DEBIAN_PACKAGES, StepResult, ensure_debian_packages
from sunaba.deploy.rendered import RenderedFile, RenderError
from sunaba.deploy.vm import INSTALL_DIRS, render_vm
from sunaba.deploy.vm_units import uses_local_postgresql
from sunaba.messages import Text

VM_PACKAGES: dict[str, str | None] = {
    **DEBIAN_PACKAGES,
    "nginx": "nginx",
    "postgresql": None,
    "postgresql-client": "pg_dump",
    "logrotate": "logrotate",
}
UNITS_TO_ENABLE = ("sunaba-hub.service", "sunaba-backup.timer")
SERVICES = Text("サービス", "services")


def _under(root: Path, path: str | Path) -> Path:
    return root / str(path).lstrip("/")


def ensure_rendered_files(files: list[RenderedFile], root: Path) -> StepResult:
    changed = []
    for rendered in files:
        folder, _, name = rendered.path.partition("/")
        if folder not in INSTALL_DIRS:
            continue
        target = _under(root, Path(INSTALL_DIRS[folder]) / name)
        target.parent.mkdir(parents=True, exist_ok=True)
        if write_if_changed(target, rendered.text, mode=rendered.mode):
            changed.append(str(target))
    name = Text("書き出したファイル", "rendered files")
    if not changed:
        return StepResult(name, False, Text("最新です", "up to date"))
    return StepResult(name, True, ", ".join(changed))


def ensure_site_config(config: SiteConfig, source: Path | None, root: Path) -> StepResult:
    target = _under(root, config.deploy.vm.config_file)
    name = Text("サイト設定", "site config")
    if target.exists():
        return StepResult(name, False, Text(f"{target} はそのままです", f"{target} kept"))
    if source is None or not source.is_file():
        missing = Text(f"ありません: {target} を書いてください", f"missing: write {target}")
        return StepResult(name, False, missing)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    target.chmod(0o644)
    return StepResult(name, True, f"{source} -> {target}")


def ensure_state(config: SiteConfig, root: Path) -> StepResult:
    paths = StatePaths(_under(root, config.hub.state_dir))
    return StepResult(
        Text("状態ディレクトリ", "state dir"), ensure_state_dir(paths), str(paths.root)
    )


def ensure_nginx_default_site_off(root: Path) -> StepResult:
    """Debian's default site also claims port 80 as default_server."""
    default = _under(root, "/etc/nginx/sites-enabled/default")
    name = Text("nginx の既定サイト", "nginx default site")
    if not default.is_symlink() and not default.exists():
        return StepResult(name, False, Text("有効になっていません", "not enabled"))
    default.unlink()
    return StepResult(name, True, Text(f"削除しました: {default}", f"removed {default}"))


def _psql_as_postgres(sql: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["runuser", "-u", "postgres", "--", "psql", "-v", "ON_ERROR_STOP=1", "-tAc", sql],
        capture_output=True,
        text=True,
    )


def ensure_local_database(config: SiteConfig) -> StepResult:
    """A role and database on this server's PostgreSQL, with a generated password kept in the
    state dir's pgpass file (the units point libpq at it)."""
    if not uses_local_postgresql(config):
        none = Text(
            "設定にこのサーバーの PostgreSQL はありません", "no local PostgreSQL in the config"
        )
        return StepResult("PostgreSQL", False, none)
    pgpass = StatePaths.from_config(config).root / "pgpass"
    changed = False
    for url in {config.hub.db_url, config.records.db_url} - {""}:
        parsed = make_url(url)
        role, database = parsed.username or "sunaba", parsed.database or "sunaba"
        for value in (role, database):
            if not re.match(r"^[a-z_][a-z0-9_]*$", value):
                raise RenderError(
                    ja=f"データベース名またはロール名 {value!r}: a-z、0-9、_ だけを使ってください",
                    en=f"database or role name {value!r}: use a-z, 0-9 and _ only",
                )
        exists = _psql_as_postgres(f"SELECT 1 FROM pg_roles WHERE rolname = '{role}'")  # noqa: S608
        if exists.stdout.strip() != "1":
            password = secrets.token_urlsafe(24)
            _psql_as_postgres(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'")
            line = f"{parsed.host or 'localhost'}:{parsed.port or 5432}:*:{role}:{password}\n"
            fd = os.open(pgpass, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a") as handle:
                handle.write(line)
            changed = True
        found = _psql_as_postgres(f"SELECT 1 FROM pg_database WHERE datname = '{database}'")  # noqa: S608
        if found.stdout.strip() != "1":
            _psql_as_postgres(f'CREATE DATABASE "{database}" OWNER "{role}"')
            changed = True
    return StepResult("PostgreSQL", changed, str(pgpass))


def systemd_running() -> bool:
    return Path("/run/systemd/system").is_dir()


def ensure_services() -> StepResult:
    if not systemd_running():
        return StepResult(
            SERVICES,
            False,
            Text(
                "ここでは systemd が動いていません: ユニットは有効にしていません",
                "systemd is not running here: units not enabled",
            ),
        )
    subprocess.run(["systemctl", "daemon-reload"], check=True)
    subprocess.run(["systemctl", "enable", "--now", *UNITS_TO_ENABLE], check=True)
    subprocess.run(["nginx", "-t"], check=True, capture_output=True)
    subprocess.run(["systemctl", "reload-or-restart", "nginx"], check=True)
    units = ", ".join(UNITS_TO_ENABLE)
    return StepResult(SERVICES, True, Text(f"有効にしました: {units}", f"enabled {units}"))


def install_vm(
    config: SiteConfig,
    root: Path = Path("/"),
    packages: bool = True,
    services: bool = True,
    source_config: Path | None = None,
) -> list[StepResult]:
    files = render_vm(config)  # first: a broken config stops here, before any change
    staging = root != Path("/")
    results = []
    if packages and not staging:
        results.append(ensure_debian_packages(VM_PACKAGES))
    results.append(ensure_site_config(config, source_config, root))
    results.append(ensure_state(config, root))
    if not staging:
        results.append(ensure_local_database(config))
    results.append(ensure_rendered_files(files, root))
    results.append(ensure_nginx_default_site_off(root))
    certificate = _under(root, config.deploy.vm.tls_certificate)
    if not certificate.exists():
        missing = Text(
            f"ありません: 証明書を {certificate} に置いてください",
            f"missing: put the certificate at {certificate}",
        )
        results.append(StepResult(Text("TLS 証明書", "tls certificate"), False, missing))
    if services and not staging:
        results.append(ensure_services())
    return results
