"""Learners' environment: the site config's `sandbox`, `learner`, `culler` and `network` sections
(isolation, limits, what their servers may reach)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from sunaba.config.section import Section, Size


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
    preload_kernels: bool | Literal["auto"] = Field(
        "auto",
        description="Start learners' kernels by forking a process that has already imported "
        "ipykernel, numpy, pandas and matplotlib, in the learner's own sandbox, under their "
        "account and limits: a kernel answers its first pandas cell in a fraction of a second. "
        "With fast start that process is forked from the fast-start server, so the imported "
        "pages are shared by the whole class and each learner's kernel needs less memory than "
        "one started on its own. Without fast start each server imports them itself (about the "
        "memory of one kernel more per server). `auto`: on with fast start, off otherwise. Not "
        "used without isolation (`none`).",
    )

    def forks_servers(self, mode: str) -> bool:
        """Servers forked from the fast-start server (zygote.py): full isolation only."""
        return self.fast_start and mode == "full"

    def preloads_kernels(self, mode: str) -> bool:
        """`auto`: where the fast-start server shares the imported pages with the class."""
        if self.preload_kernels == "auto":
            return self.forks_servers(mode)
        return self.preload_kernels


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
            raise ValueError("ポート番号は 1 から 65535 までです")
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
