"""The site config schema: every key Sunaba reads, with its default and description.

This is the only place where defaults live. `hub_config/sunaba.yaml` only overrides them, and
`docs/reference/config.md` is generated from these models.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator


class Section(BaseModel):
    """Base for every config section: unknown keys are errors, values are checked on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


_SIZE = re.compile(r"^\d+(\.\d+)?\s*[KMGT]?i?B?$", re.IGNORECASE)
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def _valid_size(value: str) -> str:
    if not _SIZE.match(value.strip()):
        raise ValueError("must be a size such as 512M, 1G or 1.5GiB")
    return value


# A size written as text ("512M", "2G", "1.5GiB"), checked when the config is read.
Size = Annotated[str, AfterValidator(_valid_size)]


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
    extra_config_dir: str = Field(
        "",
        description="Folder of extra JupyterHub config files (`*.py`, run after the site config, "
        "in name order). Empty means `jupyterhub_config.d/` beside `jupyterhub_config.py`.",
    )
    concurrent_spawn_limit: int = Field(
        0,
        ge=0,
        description="Learners' servers that may be starting at the same time; others are asked "
        "(in Japanese) to wait a few seconds and retry on their own. 0 sizes it from the "
        "machine: 5 per CPU core.",
    )
    active_server_limit: int = Field(
        0,
        ge=0,
        description="Learners' servers that may run at the same time. 0 sizes it from the "
        "machine: 80 % of its memory divided by 320 MiB, what one active learner with a pandas "
        "kernel was measured to use (about 60 on 24 GiB).",
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


class OidcAuthSection(Section):
    """OpenID Connect through oauthenticator's GenericOAuthenticator (Entra ID, Keycloak...)."""

    client_id: str = Field("", description="Client ID registered for this hub at the provider.")
    client_secret: str = Field(
        "",
        description="Client secret. Keep it out of the site file: put it in `secrets.yaml` in "
        "the state dir (VM) or the `SUNABA__AUTH__OIDC__CLIENT_SECRET` variable (Kubernetes "
        "Secret).",
    )
    issuer: str = Field(
        "",
        description="The provider's issuer URL, such as "
        "`https://login.microsoftonline.com/<tenant>/v2.0` or "
        "`https://sso.example.jp/realms/<realm>`. When set, the authorization, token and "
        "userinfo endpoints are read from `<issuer>/.well-known/openid-configuration` when the "
        "hub starts (the hub does not start if that fails); an endpoint set below wins over "
        "the discovered one.",
    )
    authorize_url: str = Field(
        "", description="The provider's authorization endpoint (empty: from `issuer`)."
    )
    token_url: str = Field("", description="The provider's token endpoint (empty: from `issuer`).")
    userdata_url: str = Field(
        "", description="The provider's userinfo endpoint (empty: from `issuer`)."
    )
    callback_url: str = Field(
        "",
        description="Where the provider sends people back. Empty: "
        "`https://<deploy.server_name><hub.base_url>hub/oauth_callback`.",
    )
    scope: list[str] = Field(
        default_factory=lambda: ["openid", "profile", "email"],
        description="Scopes requested; add the one that releases the groups claim if needed.",
    )
    username_claim: str = Field(
        "preferred_username", description="Claim that holds the login name."
    )
    groups_claim: str = Field(
        "groups", description="Claim that holds the person's groups (mapped by `auth.groups`)."
    )
    strip_email_domain: bool = Field(
        True,
        description="Turn `tanaka.taro@city.example.jp` into `tanaka-taro`: hub names must be "
        "short lower-case ASCII.",
    )
    login_service: str = Field(
        "職員アカウント", description="Name of the provider on the login button."
    )
    verify_tls: bool = Field(
        True, description="Check the provider's TLS certificate. Only a test provider may skip it."
    )


class LdapAuthSection(Section):
    """LDAP or Active Directory through jupyterhub-ldapauthenticator."""

    server_address: str = Field("", description="Host name of the LDAP or AD server.")
    server_port: int = Field(
        0, ge=0, le=65535, description="Port of the server (0: 389, or 636 with `tls: ldaps`)."
    )
    tls: Literal["starttls", "ldaps", "none"] = Field(
        "starttls",
        description="`starttls` or `ldaps` encrypt the password on the wire; `none` only for a "
        "server on the same machine.",
    )
    ca_file: str = Field(
        "",
        description="CA certificates (PEM) the LDAP server's certificate must be signed by, "
        "such as the organisation's own CA. Empty: the system's CAs. With `starttls` and "
        "`ldaps` the server's certificate is always verified, and its name must match "
        "`server_address`.",
    )
    bind_dn_templates: list[str] = Field(
        default_factory=list,
        description="DNs to bind as, with `{username}`, such as "
        "`uid={username},ou=people,dc=city,dc=example` (AD: `{username}@city.example`).",
    )
    lookup_dn: bool = Field(
        False, description="Search the person's DN with a service account instead of templates."
    )
    search_user: str = Field("", description="DN of the service account used by `lookup_dn`.")
    search_password: str = Field(
        "",
        description="Password of the service account. Keep it in `secrets.yaml` or "
        "`SUNABA__AUTH__LDAP__SEARCH_PASSWORD`, never in the site file.",
    )
    user_search_base: str = Field("", description="Where people are searched for.")
    user_attribute: str = Field(
        "uid", description="Attribute holding the login name (AD: `sAMAccountName`)."
    )
    group_attribute: str = Field(
        "memberOf", description="Attribute listing the DNs of the person's groups."
    )


class GroupMappingSection(Section):
    """Groups known to the identity provider, mapped onto Sunaba's hub groups at every login."""

    courses: dict[str, str] = Field(
        default_factory=dict,
        description="Provider group → course id; members are enrolled as learners "
        "(hub group `nbgrader-<id>`).",
    )
    course_staff: dict[str, str] = Field(
        default_factory=dict,
        description="Provider group → course id; members grade the course "
        "(hub group `formgrade-<id>`).",
    )
    departments: dict[str, str] = Field(
        default_factory=dict,
        description="Provider group → 所属 code (hub group `dept-<code>`).",
    )
    teams: dict[str, str] = Field(
        default_factory=dict,
        description="Provider group → team name (hub group `team-<name>`).",
    )
    admins: list[str] = Field(
        default_factory=list, description="Provider groups whose members are hub admins."
    )
    allowed: list[str] = Field(
        default_factory=list,
        description="Provider groups allowed to log in; empty lets in everyone the provider "
        "authenticates.",
    )

    @field_validator("courses", "course_staff", "departments", "teams")
    @classmethod
    def _hub_group_names(cls, value: dict[str, str]) -> dict[str, str]:
        for group, target in value.items():
            if not re.match(r"^[a-z0-9][a-z0-9_-]{0,39}$", target):
                raise ValueError(
                    f"{group!r} maps to {target!r}: use lower-case letters, digits, - and _"
                )
        return value


class AuthSection(Section):
    type: Literal["native", "oidc", "ldap"] = Field(
        "native",
        description="How people log in. `native`: accounts with passwords kept by the hub, "
        "sign-up with admin approval and roster import. `oidc`: an OpenID Connect provider "
        "(Entra ID, Keycloak). `ldap`: LDAP or Active Directory.",
    )
    native: NativeAuthSection = Field(
        default_factory=NativeAuthSection, description="Settings of the `native` login."
    )
    oidc: OidcAuthSection = Field(
        default_factory=OidcAuthSection, description="Settings of the `oidc` login."
    )
    ldap: LdapAuthSection = Field(
        default_factory=LdapAuthSection, description="Settings of the `ldap` login."
    )
    groups: GroupMappingSection = Field(
        default_factory=GroupMappingSection,
        description="Provider groups mapped to courses, 所属 and teams (`oidc` and `ldap`).",
    )

    @model_validator(mode="after")
    def _provider_settings(self) -> AuthSection:
        missing = []
        if self.type == "oidc":
            if not self.oidc.client_id:
                missing.append("auth.oidc.client_id")
            if not self.oidc.issuer:
                for key in ("authorize_url", "token_url", "userdata_url"):
                    if not getattr(self.oidc, key):
                        missing.append(f"auth.oidc.{key} (or auth.oidc.issuer)")
        if self.type == "ldap":
            if not self.ldap.server_address:
                missing.append("auth.ldap.server_address")
            if not self.ldap.bind_dn_templates and not self.ldap.lookup_dn:
                missing.append("auth.ldap.bind_dn_templates (or auth.ldap.lookup_dn)")
        if missing:
            raise ValueError(
                f"auth.type is {self.type!r} but these are empty: " + ", ".join(missing)
            )
        return self


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
    memory_limit: Size = Field(
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
    max_file_size: Size = Field(
        "2G", description="Largest single file a learner's process may write."
    )
    readonly_paths: list[str] = Field(
        default_factory=list,
        description="Extra host directories shown read-only inside every sandbox at the same path.",
    )
    fast_start: bool = Field(
        True,
        description="Start learners' servers by forking a process that has already imported "
        "JupyterLab (same sandbox, a fraction of the CPU). Off: one bubblewrap process per "
        "server. Used only in `full` isolation.",
    )


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
    exercises: str = Field(
        "",
        description="Directory holding `<course>/<assignment>/` nbgrader source notebooks. "
        "Empty means `exercises/` next to the courses directory.",
    )
    grading_dir: str = Field(
        "",
        description="Root-owned directory (0711, not listable) holding one 0700 directory per "
        "course, owned by the course's grader account: nbgrader course files and gradebook. "
        "Empty means `<state_dir>-courses`. Never visible inside sandboxes.",
    )
    max_submission_size: Size = Field(
        "20M",
        description="Largest submission (all files of one assignment together) the exchange "
        "accepts, such as `20M`.",
    )
    service_port: int = Field(
        0,
        ge=0,
        le=65000,
        description="Loopback port of the exchange service; formgraders use the next ones. "
        "0 derives a port in 20000-29999 from the state dir, so that hubs on one machine do not "
        "collide.",
    )
    demo_accounts: bool = Field(
        True,
        description="Create a demo instructor (`demo-teacher`) and a demo learner "
        "(`demo-learner`) with printed passwords when the hub is set up.",
    )


class ChecksSection(Section):
    graders: str = Field(
        "",
        description="Directory holding `<course>/<assignment>.py` grader files (check logic, "
        "tolerances, hints). Empty means `graders/` next to `hub_config/`. Only the hub reads "
        "it: never visible inside sandboxes.",
    )
    port: int = Field(
        0,
        ge=0,
        le=65535,
        description="Loopback port of the check service. 0 derives a port in 30000-31999 from "
        "the state dir, so that hubs on one machine do not collide.",
    )
    max_answer_size: Size = Field(
        "20M",
        description="Largest answer (after serialisation) a learner may send to a check, such "
        "as `20M`.",
    )
    rate_limit: int = Field(
        60,
        ge=1,
        description="Checks and hints one learner may ask for per minute.",
    )


class GradingSection(Section):
    backend: Literal["sandbox", "kubernetes"] = Field(
        "sandbox",
        description="Where learners' submissions run. `sandbox`: on this machine, as root, each "
        "in namespaces of its own with throwaway uids, the course's steps as its grader account. "
        "`kubernetes`: each submission in a grading pod of its own made from the chart's "
        "`sunaba-grader` PodTemplate (no network, non-root, read-only root filesystem), the "
        "course's steps as the hub's own user; `sunaba deploy render k8s` sets it in the site "
        "config the hub pod loads.",
    )
    workers: int = Field(
        0,
        ge=0,
        le=256,
        description="Submissions the autograder runs at once, each in its own sandbox (or pod). "
        "0 means one per CPU core (of the hub's node on Kubernetes).",
    )
    cell_timeout: int = Field(
        30, ge=1, le=3600, description="Seconds one cell may run before it is interrupted."
    )
    notebook_timeout: int = Field(
        300,
        ge=5,
        le=86400,
        description="Seconds one notebook may run in total; cells left are scored zero.",
    )
    memory_limit: Size = Field(
        "1G", description="Memory for one submission's kernel and its children, such as `1G`."
    )
    cpu_limit: float = Field(
        1.0, gt=0, le=64, description="CPU cores one submission may use at most."
    )
    max_processes: int = Field(
        64, ge=8, description="Processes and threads one submission may run at once."
    )
    max_output: Size = Field(
        "4M",
        description="Output (text, images, errors) kept from one notebook; the rest is dropped "
        "and the cell says so.",
    )
    sandbox_uid_base: int = Field(
        3_800_000_000,
        ge=100_000,
        le=4_000_000_000,
        description="First of the throwaway Unix uids submissions run as: two per worker from "
        "`base`, and two from `base + 512` for the formgrader's autograde button. No account "
        "needs to exist; no file outside a submission's own directory belongs to them.",
    )


class AllowedDestination(Section):
    host: str = Field(
        description="A host name, an IP address or a network in CIDR form (`10.20.0.0/16`). "
        "Names are looked up when `sunaba up` starts."
    )
    ports: list[int] = Field(
        default_factory=list,
        description="TCP/UDP ports learners may use there; empty means every port.",
    )

    @field_validator("ports")
    @classmethod
    def _valid_ports(cls, value: list[int]) -> list[int]:
        if any(not 1 <= port <= 65535 for port in value):
            raise ValueError("ports must be between 1 and 65535")
        return value


class NetworkSection(Section):
    firewall: bool = Field(
        True,
        description="Restrict where learners' servers, kernels, terminals, showcase apps and the "
        "thumbnail renderer may connect, with a table of the kernel's firewall (nftables) that "
        "`sunaba up` installs and removes. They reach the hub API, the Sunaba services and DNS, "
        "never other ports of this machine, private or link-local networks or the cloud metadata "
        "server. Needs `full` isolation; off: learners reach everything this machine reaches.",
    )
    internet: bool = Field(
        True,
        description="Let learners reach the public internet (`false`: only what `allow` lists).",
    )
    allow: list[AllowedDestination] = Field(
        default_factory=list,
        description="Hosts or networks learners may reach although they are private, such as an "
        "internal data portal: `{host: portal.example.lg.jp, ports: [443]}`.",
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
    port: int = Field(
        0,
        ge=0,
        le=65535,
        description="Loopback port of the showcase service. 0: a free port is picked each time "
        "the hub starts (the hub's proxy routes `/services/showcase/` to it).",
    )
    app_user_prefix: str = Field(
        "",
        pattern=r"^([a-z_][a-z0-9_-]{0,11})?$",
        description="Prefix of the Unix account made for each published app. Empty means the "
        "learners' prefix followed by `_`, which no hub user name can start with.",
    )
    memory_limit: Size = Field(
        "2G", description="Memory for one app: its Voilà server and all its viewers' kernels."
    )
    cpu_limit: float = Field(1.0, gt=0, le=64, description="CPU cores one app may use at most.")
    max_processes: int = Field(
        1024, ge=64, description="Processes and threads one app may run at once."
    )
    max_kernels: int = Field(
        20,
        ge=1,
        le=500,
        description="Viewers' kernels one app may run at once; further viewers see a Japanese "
        "'busy' page until a kernel is free.",
    )
    pool_size: int = Field(
        2,
        ge=0,
        le=20,
        description="Preheated kernels (Voilà's pool) kept ready per app, each with the "
        "notebook already run, so that a viewer rarely waits. 0 turns preheating off.",
    )
    cell_timeout: int = Field(
        60,
        ge=5,
        le=3600,
        description="Seconds one cell may run, at publish time and for each viewer.",
    )
    kernel_idle_timeout: int = Field(
        600,
        ge=30,
        description="Seconds after which a viewer's idle kernel is stopped, even if the page "
        "is still open.",
    )
    max_snapshot_size: Size = Field(
        "50M", description="Largest total size of a notebook and the data files it names."
    )
    thumbnails: bool = Field(
        True,
        description="Render a thumbnail of each published version with headless Chromium "
        "(`/usr/bin/chromium`) for the gallery.",
    )
    start_at_boot: bool = Field(
        True,
        description="Start every published app when the hub starts, so the first viewer finds "
        "it warm. Off: an app starts at its first view (the viewer sees a progress page).",
    )


class VmDeploySection(Section):
    """A server run by systemd, with nginx terminating TLS in front of the hub."""

    config_file: str = Field(
        "/etc/sunaba/sunaba.yaml", description="Where the site config lives on the server."
    )
    source_dir: str = Field(
        "/usr/local/lib/sunaba",
        description="Checkout the server runs from (root only: it holds graders and solutions).",
    )
    listen_address: str = Field(
        "", description="Address nginx listens on; empty means every address of the server."
    )
    http_port: int = Field(80, ge=1, le=65535, description="Port that redirects to HTTPS.")
    https_port: int = Field(443, ge=1, le=65535, description="Port that serves the hub over TLS.")
    tls_certificate: str = Field(
        "/etc/sunaba/tls/fullchain.pem",
        description="Certificate chain (PEM) nginx presents, such as Let's Encrypt's "
        "`fullchain.pem`.",
    )
    tls_certificate_key: str = Field(
        "/etc/sunaba/tls/privkey.pem", description="Private key of that certificate (PEM)."
    )
    max_upload_size: str = Field(
        "100M",
        description="Largest request body nginx lets through: notebook uploads and exchange "
        "submissions.",
    )
    backup_dir: str = Field(
        "/var/backups/sunaba", description="Where the nightly `sunaba backup` writes archives."
    )
    backup_keep: int = Field(14, ge=1, description="Backup archives kept; older ones are removed.")
    backup_time: str = Field(
        "02:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="Time of the nightly backup."
    )
    log_keep_days: int = Field(30, ge=1, description="Days of hub logs kept by logrotate.")

    @field_validator("max_upload_size")
    @classmethod
    def _upload_size(cls, value: str) -> str:
        if not re.match(r"^\d+[kKmMgG]?$", value):
            raise ValueError("must be an nginx size such as 100M or 1G")
        return value


class K8sDeploySection(Section):
    """Kubernetes through the Zero to JupyterHub chart, on which Sunaba's chart depends."""

    release: str = Field(
        "sunaba", pattern=r"^[a-z][a-z0-9-]{0,30}$", description="Helm release name."
    )
    namespace: str = Field("sunaba", description="Namespace the release is installed in.")
    jupyterhub_chart_version: str = Field(
        "^4.3.0",
        description="Version (or semver range) of the Zero to JupyterHub chart Sunaba's chart "
        "depends on; pin it for production.",
    )
    hub_image: str = Field(
        "sunaba/hub:0.1.0",
        description="Hub image built from `deploy/k8s/images/hub.Dockerfile` (name:tag).",
    )
    singleuser_image: str = Field(
        "sunaba/singleuser:0.1.0",
        description="Learner image built from `deploy/k8s/images/singleuser.Dockerfile`.",
    )
    storage_class: str = Field(
        "", description="StorageClass of learners' home volumes (empty: the cluster default)."
    )
    home_size: str = Field("10Gi", description="Size of each learner's home volume.")
    shared_storage_class: str = Field(
        "",
        description="StorageClass of the shared volume (datasets, released course files); it "
        "must offer ReadWriteMany.",
    )
    shared_size: str = Field("20Gi", description="Size of the shared read-only volume.")
    state_size: str = Field(
        "10Gi", description="Size of the hub's state volume (course dirs, gradebooks, showcase)."
    )
    memory_guarantee: str = Field(
        "512M",
        description="Memory reserved for each learner's pod (the limit is `sandbox.memory_limit`).",
    )
    cpu_guarantee: float = Field(
        0.2,
        gt=0,
        le=64,
        description="CPU reserved for each learner's pod (limit: `sandbox.cpu_limit`).",
    )
    learner_internet: bool = Field(
        False,
        description="Let learners' pods reach public internet addresses. Off: they reach only "
        "the proxy, the hub and Sunaba's services.",
    )
    postgresql: bool = Field(
        True,
        description="Run a PostgreSQL StatefulSet in the release for the hub and records "
        "databases (off: `hub.db_url` and `records.db_url` point elsewhere).",
    )
    postgresql_image: str = Field("postgres:15-bookworm", description="PostgreSQL image.")
    postgresql_size: str = Field("10Gi", description="Size of PostgreSQL's volume.")
    db_secret: str = Field(
        "sunaba-db",
        description="Secret holding the database password under the key `password`.",
    )
    auth_secret: str = Field(
        "sunaba-auth",
        description="Secret holding `oidc-client-secret` and/or `ldap-search-password`.",
    )
    tls_secret: str = Field(
        "sunaba-tls", description="Secret of type kubernetes.io/tls for the ingress."
    )
    formgrader_ports: int = Field(
        10,
        ge=0,
        le=100,
        description="Courses that can have a formgrader on Kubernetes. Every Sunaba service "
        "has a fixed port there, listed on the hub Service (`hub`): the check service 8090, "
        "the showcase 8091, the exchange 8100 (or `checks.port`, `showcase.port`, "
        "`courses.service_port` when set), and this many ports after the exchange's for "
        "formgraders. The hub refuses to start with more synced courses.",
    )
    grader_memory: str = Field("512M", description="Memory limit of one grading pod.")
    grader_cpu: float = Field(1.0, gt=0, le=16, description="CPU limit of one grading pod.")


class DeploySection(Section):
    server_name: str = Field(
        "", description="Public DNS name of the hub on a VM or Kubernetes (empty on one machine)."
    )
    vm: VmDeploySection = Field(
        default_factory=VmDeploySection, description="A server with systemd and nginx."
    )
    k8s: K8sDeploySection = Field(
        default_factory=K8sDeploySection, description="Kubernetes with Zero to JupyterHub."
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
    checks: ChecksSection = Field(
        default_factory=ChecksSection, description="Instant checks of learners' answers."
    )
    grading: GradingSection = Field(
        default_factory=GradingSection,
        description="The autograder: sandboxes, limits and parallel workers.",
    )
    records: RecordsSection = Field(
        default_factory=RecordsSection, description="The records database."
    )
    showcase: ShowcaseSection = Field(
        default_factory=ShowcaseSection, description="Published Voilà apps."
    )
    network: NetworkSection = Field(
        default_factory=NetworkSection, description="Where learners' processes may connect."
    )
    deploy: DeploySection = Field(
        default_factory=DeploySection, description="Running on a VM or on Kubernetes."
    )
