"""Where the showcase keeps things, and the names of the Unix accounts it uses.

Private (in the 0700 state dir, never visible in any sandbox): every version of every app, the
thumbnails, logs, the service's cookie secret and its admin key. Per app, outside the state dir:
a 0700 home owned by the app's own account, holding the deployed snapshot (read-only for the app)
and a run directory that is wiped at each start.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sunaba.config.schema import SiteConfig
from sunaba.core.state import StatePaths
from sunaba.sandbox.accounts import unix_name

SERVICE_NAME = "showcase"
TEAM_PREFIX = "team-"


def app_user_prefix(config: SiteConfig) -> str:
    # Hub user names start with a letter, so `<learner prefix>_` never collides with a learner.
    return config.showcase.app_user_prefix or f"{config.sandbox.user_prefix}_"


def app_account(config: SiteConfig, app_id: int) -> str:
    return unix_name(app_user_prefix(config), f"app{app_id}")


def app_id_of(config: SiteConfig, name: str) -> int | None:
    """The app an account, home or cgroup name belongs to (`app_account`'s inverse), or None."""
    stem = unix_name(app_user_prefix(config), "app")
    number = name[len(stem) :] if name.startswith(stem) else ""
    return int(number) if number.isdigit() else None


def learner_account(config: SiteConfig, hub_name: str) -> str:
    return unix_name(config.sandbox.user_prefix, hub_name)


def learner_home(config: SiteConfig, hub_name: str) -> Path:
    return Path(config.sandbox.home_root) / learner_account(config, hub_name)


@dataclass(frozen=True)
class ShowcasePaths:
    root: Path
    home_root: Path
    prefix: Path

    @classmethod
    def from_config(cls, config: SiteConfig) -> ShowcasePaths:
        return cls(
            root=StatePaths.from_config(config).root / "showcase",
            home_root=Path(config.sandbox.home_root),
            prefix=Path(config.hub.prefix),
        )

    # -- private -----------------------------------------------------------------------

    def app_store(self, app_id: int) -> Path:
        return self.root / "apps" / str(app_id)

    def version_dir(self, app_id: int, number: int) -> Path:
        return self.app_store(app_id) / f"v{number}"

    def thumbnail(self, app_id: int, number: int) -> Path:
        return self.app_store(app_id) / "thumbs" / f"v{number}.png"

    @property
    def staging(self) -> Path:
        return self.root / "staging"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def cookie_secret(self) -> Path:
        return self.root / "cookie_secret"

    @property
    def admin_key(self) -> Path:
        """Key the `sunaba showcase` CLI (root) presents to the running service."""
        return self.root / "admin_key"

    @property
    def service_info(self) -> Path:
        """URL of the running service, written at its start, for the CLI."""
        return self.root / "service.json"

    # -- per app, outside the state dir ------------------------------------------------

    def app_home(self, account: str) -> Path:
        return self.home_root / account

    def deployed_dir(self, account: str, number: int) -> Path:
        return self.app_home(account) / f"v{number}"

    def run_dir(self, account: str, tag: str) -> Path:
        """Private writable directory of one Voilà process (two run side by side while a new
        version takes over from the old one)."""
        return self.app_home(account) / f"run-{tag}"

    @property
    def lab_menu_file(self) -> Path:
        return (
            self.prefix
            / "venv"
            / "share"
            / "jupyter"
            / "lab"
            / "settings"
            / "overrides.d"
            / "sunaba-showcase.json"
        )
