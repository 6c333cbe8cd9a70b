"""Where mutable state lives. The state dir is 0700 and owned by the hub: nothing in it is ever
visible inside a sandbox. Public, learner-readable data lives under the runtime prefix instead."""

from __future__ import annotations

import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

import yaml

from sunaba.config.schema import SiteConfig
from sunaba.core.files import write_atomic

# Hub services and the scopes each one needs.
SERVICE_SCOPES: dict[str, list[str]] = {
    "idle-culler": [
        "list:users",
        "read:users:activity",
        "read:servers",
        "delete:servers",
    ],
    "sunaba-admin": [
        "admin:users",
        "admin:groups",
        "admin:servers",
        "list:services",
        # A course synced or retired while the hub runs changes its services: the hub is
        # reloaded (`sunaba.core.hubreload`), keeping learners' servers running, and the sync
        # waits until each service answers where the hub says it listens.
        "shutdown",
        "read:services",
        # `sunaba up` restarts a proxy that died and has the hub put its routes back at once.
        "proxy",
    ],
}


# Services the hub does not start itself need a token kept in secrets.yaml (generated once);
# the hub hands managed services such as the idle culler a fresh token of their own.
STORED_TOKEN_SERVICES = ("sunaba-admin",)
# The proxy's API token: `sunaba up` runs the proxy, and the hub (each time it starts) and the
# proxy must agree on it (`sunaba.runtime.proxyprocess`).
PROXY_TOKEN_KEY = "proxy_auth_token"  # noqa: S105 (the key it is stored under)


@dataclass(frozen=True)
class StatePaths:
    root: Path

    @classmethod
    def from_config(cls, config: SiteConfig) -> StatePaths:
        return cls(Path(config.hub.state_dir))

    @property
    def hub_db(self) -> Path:
        return self.root / "jupyterhub.sqlite"

    @property
    def cookie_secret(self) -> Path:
        return self.root / "jupyterhub_cookie_secret"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets.yaml"

    @property
    def records_db(self) -> Path:
        return self.root / "records.sqlite"

    @property
    def pending_check_events(self) -> Path:
        return self.root / "checks" / "pending-events.jsonl"

    @property
    def pid_file(self) -> Path:
        return self.root / "jupyterhub.pid"

    @property
    def supervisor_pid_file(self) -> Path:
        """`sunaba up`'s own pid, while it runs: where a reload (SIGHUP) is sent."""
        return self.root / "sunaba-up.pid"

    @property
    def zygote_socket(self) -> Path:
        return self.root / "zygote.sock"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    def hub_db_url(self, config: SiteConfig) -> str:
        return config.hub.db_url or f"sqlite:///{self.hub_db}"


def public_datasets_dir(config: SiteConfig) -> Path:
    """Catalogue copy and fetched open data: under the prefix, read-only inside sandboxes."""
    return Path(config.hub.prefix) / "share" / "datasets"


def ensure_state_dir(paths: StatePaths) -> bool:
    """Create the state dir 0700 (or tighten it); return True if anything changed."""
    changed = False
    if not paths.root.exists():
        paths.root.mkdir(parents=True, mode=0o700)
        changed = True
    mode = stat.S_IMODE(paths.root.stat().st_mode)
    if mode != 0o700:
        paths.root.chmod(0o700)
        changed = True
    paths.log_dir.mkdir(mode=0o700, exist_ok=True)
    return changed


def _write_private(path: Path, text: str) -> None:
    write_atomic(path, text, mode=0o600)


def read_secrets(paths: StatePaths) -> dict:
    if not paths.secrets.is_file():
        return {}
    return yaml.safe_load(paths.secrets.read_text(encoding="utf-8")) or {}


def ensure_secrets(paths: StatePaths) -> bool:
    """Generate the cookie secret, the proxy's token and one token per service, once; keep
    existing ones."""
    changed = False
    if not paths.cookie_secret.exists():
        _write_private(paths.cookie_secret, secrets.token_hex(32))
        changed = True
    data = read_secrets(paths)
    if not data.get(PROXY_TOKEN_KEY):
        data[PROXY_TOKEN_KEY] = secrets.token_hex(32)
        changed = True
    tokens = data.setdefault("service_tokens", {})
    for name in STORED_TOKEN_SERVICES:
        if name not in tokens:
            tokens[name] = secrets.token_hex(32)
            changed = True
    if changed or not paths.secrets.exists():
        _write_private(paths.secrets, yaml.safe_dump(data, sort_keys=True))
    return changed


def service_token(paths: StatePaths, service: str) -> str:
    return read_secrets(paths)["service_tokens"][service]
