"""The site config schema: every key Sunaba reads, with its default and description.

This is the only place where defaults live. `hub_config/sunaba.yaml` only overrides them, and
`docs/reference/config.md` is generated from these models.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from sunaba.config.auth_schema import AuthSection
from sunaba.config.deploy_schema import DeploySection
from sunaba.config.learner_schema import (
    CullerSection,
    LearnerSection,
    NetworkSection,
    SandboxSection,
)
from sunaba.config.section import Section, Size, parse_size

__all__ = ["SiteConfig", "parse_size"]

# Memory an app's Voilà server itself takes, before any kernel.
APP_SERVER_MEMORY = 256 * 2**20


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
        "machine: 80 % of its memory divided by what one active learner with a pandas kernel "
        "was measured to use (160 MiB with fast start and pre-imported kernels, 320 MiB "
        "otherwise), and at most 60 per CPU core (120 on 2 cores and 24 GiB).",
    )

    @field_validator("base_url")
    @classmethod
    def _slashes(cls, value: str) -> str:
        if not value.startswith("/") or not value.endswith("/"):
            raise ValueError("「/」で始めて「/」で終えてください")
        return value


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
        "needs to exist; no file outside a submission's own directory belongs to them. Each "
        "install on a machine claims its 1024 uids in `/etc/sunaba/uid-ranges` when it starts; "
        "`sunaba up` refuses a range another install holds and suggests a free base "
        "(`sunaba uid-ranges show`).",
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
        "the hub starts (the hub's proxy routes `/services/showcase/` to it; learners' servers "
        "get it in `SUNABA_SHOWCASE_URL`, for `sunaba showcase publish`).",
    )
    app_user_prefix: str = Field(
        "",
        pattern=r"^([a-z_][a-z0-9_-]{0,11})?$",
        description="Prefix of the Unix account made for each published app. Empty means the "
        "learners' prefix followed by `_`, which no hub user name can start with.",
    )
    memory_limit: Size = Field(
        # A ceiling, not a reservation: an app uses what its viewers' kernels use. 5G holds
        # the Voilà server, the preheated pool and `max_kernels` (20) kernels of 200M.
        "5G",
        description="Memory for one app: its Voilà server and all its viewers' kernels.",
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
        "'busy' page until a kernel is free. Fewer when `memory_limit` cannot hold this many "
        "kernels of `kernel_memory` each (besides the Voilà server and the preheated pool).",
    )
    kernel_memory: Size = Field(
        "200M",
        description="Memory one viewer's kernel is counted for when the number of kernels that "
        "fit in `memory_limit` is worked out. A notebook with pandas and matplotlib needs "
        "about 200M; raise it for heavier notebooks, so that viewers beyond what fits get the "
        "'busy' page instead of a kernel that runs out of memory.",
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

    def viewer_kernels(self) -> int:
        """Viewers' kernels one app runs at most: `max_kernels`, or fewer if the memory cannot
        hold them beside the Voilà server and the preheated pool."""
        room = parse_size(self.memory_limit) - APP_SERVER_MEMORY
        fit = room // parse_size(self.kernel_memory) - self.pool_size
        return max(0, min(self.max_kernels, fit))

    @model_validator(mode="after")
    def _a_viewer_fits(self) -> ShowcaseSection:
        if self.viewer_kernels() < 1:
            need = APP_SERVER_MEMORY + (self.pool_size + 1) * parse_size(self.kernel_memory)
            raise PydanticCustomError(
                "showcase_memory",
                f"showcase.memory_limit（{self.memory_limit}）では、アプリの Voilà サーバー"
                f"（約 {APP_SERVER_MEMORY // 2**20}M）と事前に起動しておくカーネル "
                f"showcase.pool_size（{self.pool_size} 個）のほかに、閲覧者のカーネル"
                f"（1 つあたり showcase.kernel_memory = {self.kernel_memory}）を 1 つも動かせません。"
                f"showcase.memory_limit を {-(-need // 2**20)}M 以上にするか、"
                "showcase.kernel_memory か showcase.pool_size を小さくしてください。",
            )
        return self


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
