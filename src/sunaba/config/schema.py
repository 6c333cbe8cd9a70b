"""The site config schema: every key Sunaba reads, with its default and description.

This is the only place where defaults live. `hub_config/sunaba.yaml` only overrides them, and
`docs/reference/config.md` is generated from these models.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Section(BaseModel):
    """Base for every config section: unknown keys are errors, values are checked on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


_SIZE = re.compile(r"^\d+(\.\d+)?\s*[KMGT]?i?B?$", re.IGNORECASE)
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_size(text: str | int) -> int:
    """Turn '512M', '2G' or '1.5GiB' into bytes; ints are taken as bytes."""
    if isinstance(text, int):
        return text
    cleaned = text.strip().upper().replace("IB", "").replace("B", "")
    number = cleaned.rstrip("KMGT")
    unit = cleaned[len(number) :]
    return int(float(number) * _UNITS[unit])


class SiteSection(Section):
    name: str = Field("砂場 Sunaba", description="Name shown in the header of every hub page.")
    organisation: str = Field(
        "", description="Municipality or training provider that runs this hub, shown on pages."
    )
    language: Literal["ja", "en"] = Field(
        "ja", description="Language of hub pages and of JupyterLab's menus: `ja` or `en`."
    )


class HubSection(Section):
    ip: str = Field(
        "127.0.0.1",
        description="Address the public proxy listens on. Keep loopback unless a reverse proxy "
        "(nginx) terminates TLS in front.",
    )
    port: int = Field(8000, ge=1, le=65535, description="Port of the public proxy.")
    hub_port: int = Field(
        8081, ge=1, le=65535, description="Port of the hub's internal API (loopback only)."
    )
    proxy_api_port: int = Field(
        8001, ge=1, le=65535, description="Port of the proxy's control API (loopback only)."
    )
    base_url: str = Field("/", description="URL prefix under which the hub is served.")
    admin_users: list[str] = Field(
        default_factory=lambda: ["admin"],
        description="Hub admins. The first one is created at start and prints how to set a password.",
    )
    state_dir: str = Field(
        "/var/lib/sunaba",
        description="Directory (made 0700, owned by the hub) for the hub database, cookie secret, "
        "tokens, course directories, gradebooks and the records database.",
    )
    prefix: str = Field(
        "/opt/sunaba",
        description="Runtime prefix readable by every sandbox user: Python venv, node proxy, "
        "JupyterLab settings. Never inside the checkout.",
    )
    db_url: str = Field(
        "",
        description="SQLAlchemy URL of the hub database. Empty means SQLite in the state dir.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level of the hub and its services."
    )

    @field_validator("base_url")
    @classmethod
    def _slashes(cls, value: str) -> str:
        if not value.startswith("/") or not value.endswith("/"):
            raise ValueError("must start and end with '/'")
        return value


class NativeAuthSection(Section):
    open_signup: bool = Field(
        False,
        description="Let people who sign up log in without an admin's approval. Keep off on a "
        "shared hub.",
    )
    minimum_password_length: int = Field(
        10, ge=8, le=128, description="Shortest password accepted at sign-up."
    )
    check_common_password: bool = Field(
        True, description="Refuse passwords from the list of most common passwords."
    )
    allowed_failed_logins: int = Field(
        5, ge=0, description="Failed logins before the account is locked for a while (0: never)."
    )
    seconds_before_next_try: int = Field(
        600, ge=0, description="How long an account stays locked after too many failed logins."
    )


class AuthSection(Section):
    type: Literal["native"] = Field(
        "native",
        description="How people log in. `native`: accounts with passwords kept by the hub, "
        "sign-up with admin approval and roster import.",
    )
    native: NativeAuthSection = Field(
        default_factory=NativeAuthSection, description="Settings of the `native` login."
    )


class SandboxSection(Section):
    mode: Literal["auto", "full", "bubblewrap", "none"] = Field(
        "auto",
        description="Isolation of learners' servers. `full`: a Unix account per learner, "
        "bubblewrap namespace and cgroup limits (needs root). `bubblewrap`: namespace only, for a "
        "hub not run as root. `none`: no isolation, refused unless `sunaba up --insecure-demo`. "
        "`auto`: the strongest available.",
    )
    user_prefix: str = Field(
        "sb-",
        pattern=r"^[a-z][a-z0-9-]{0,7}$",
        description="Prefix of the Unix account made for each hub user, so that a hub user can "
        "never map onto a system account such as `root`.",
    )
    home_root: str = Field(
        "/home/sunaba", description="Directory that holds one 0700 home per learner."
    )
    memory_limit: str = Field(
        "1G",
        description="Memory for one learner's server and kernels together, such as `1G` or "
        "`768M`. The kernel that passes it is stopped; nothing else is affected.",
    )
    cpu_limit: float = Field(
        1.0, gt=0, le=64, description="CPU cores one learner may use at most (fractions allowed)."
    )
    max_processes: int = Field(
        128, ge=16, description="Processes and threads one learner may run at once."
    )
    max_file_size: str = Field(
        "2G", description="Largest single file a learner's process may write."
    )
    readonly_paths: list[str] = Field(
        default_factory=list,
        description="Extra host directories shown read-only inside every sandbox at the same path.",
    )

    @field_validator("memory_limit", "max_file_size")
    @classmethod
    def _size(cls, value: str) -> str:
        if not _SIZE.match(value.strip()):
            raise ValueError("must be a size such as 512M, 1G or 1.5GiB")
        return value


class LearnerSection(Section):
    default_url: str = Field("/lab", description="Page a learner lands on after the server starts.")
    start_timeout: int = Field(
        120, ge=10, description="Seconds a server may take to start before the spawn fails."
    )
    extra_env: dict[str, str] = Field(
        default_factory=dict,
        description="Extra environment variables for learners' servers. Never put secrets here: "
        "learners can read their own environment.",
    )


class CullerSection(Section):
    enabled: bool = Field(True, description="Stop servers that have been idle for a while.")
    timeout: int = Field(
        3600, ge=60, description="Seconds of inactivity after which a server is stopped."
    )
    every: int = Field(300, ge=10, description="Seconds between two checks for idle servers.")
    max_age: int = Field(
        0, ge=0, description="Stop servers older than this many seconds even if busy (0: never)."
    )


class DatasetsSection(Section):
    catalogue: str = Field(
        "",
        description="Directory holding `<name>/datapackage.yaml`. Empty means the catalogue "
        "installed under the runtime prefix.",
    )
    mirror: str = Field(
        "",
        description="Local directory to read public datasets from instead of their source URLs "
        "(offline sites, tests).",
    )


class CoursesSection(Section):
    directory: str = Field(
        "",
        description="Directory holding `<id>/course.yaml`. Empty means `courses/` next to "
        "`hub_config/`.",
    )


class RecordsSection(Section):
    db_url: str = Field(
        "",
        description="SQLAlchemy URL of the records database (courses, enrolments, progress, "
        "published apps). Empty means SQLite in the state dir; for PostgreSQL use "
        "`postgresql+psycopg://user@host/dbname`.",
    )


class ShowcaseSection(Section):
    enabled: bool = Field(True, description="Run the showcase of published Voilà apps.")


class DeploySection(Section):
    server_name: str = Field(
        "", description="Public DNS name of the hub on a VM or Kubernetes (empty on one machine)."
    )


class SiteConfig(Section):
    """Everything a Sunaba site can set. Unknown keys anywhere are errors."""

    site: SiteSection = Field(default_factory=SiteSection, description="Names and language.")
    hub: HubSection = Field(default_factory=HubSection, description="Network, paths and admins.")
    auth: AuthSection = Field(default_factory=AuthSection, description="How people log in.")
    sandbox: SandboxSection = Field(
        default_factory=SandboxSection, description="Isolation and limits of learners' servers."
    )
    learner: LearnerSection = Field(
        default_factory=LearnerSection, description="The learner's JupyterLab server."
    )
    culler: CullerSection = Field(
        default_factory=CullerSection, description="Stopping idle servers."
    )
    datasets: DatasetsSection = Field(
        default_factory=DatasetsSection, description="Open data catalogue and mirror."
    )
    courses: CoursesSection = Field(
        default_factory=CoursesSection, description="Where course definitions are read from."
    )
    records: RecordsSection = Field(
        default_factory=RecordsSection, description="The records database."
    )
    showcase: ShowcaseSection = Field(
        default_factory=ShowcaseSection, description="Published Voilà apps."
    )
    deploy: DeploySection = Field(
        default_factory=DeploySection, description="Running on a VM or on Kubernetes."
    )
