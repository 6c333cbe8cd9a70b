"""Area hooks for the hub config: the check service, who may call it, and the scopes learners'
server tokens need to reach it from their kernels."""

from __future__ import annotations

from sunaba.checks.grader import GraderDirectory
from sunaba.checks.service import (
    CONFIG_ENV,
    GRADER_GROUP,
    GRADERS_ENV,
    LEARNER_GROUP,
    SERVICE,
)
from sunaba.config.schema import SiteConfig
from sunaba.core.layout import graders_dir
from sunaba.core.state import public_datasets_dir
from sunaba.hub.areas import module_service
from sunaba.hub.ports import derived_port

ACCESS = f"access:services!service={SERVICE}"
LOOKUP = f"read:services!service={SERVICE}"


def service_port(config: SiteConfig) -> int:
    if config.checks.port:
        return config.checks.port
    # Below Linux's ephemeral range (32768-), apart from the courses' 20000-29999.
    return derived_port(f"checks:{config.hub.state_dir}", 30000, 2000)


def services(config: SiteConfig, facts) -> list[dict]:
    environment = {
        CONFIG_ENV: config.model_dump_json(),
        GRADERS_ENV: str(graders_dir(config, facts.hub_config_dir)),
        # Graders compute expected values from the same datasets learners load.
        "SUNABA_DATASETS_PATH": str(public_datasets_dir(config)),
    }
    port = service_port(config)
    return [module_service(SERVICE, port, "sunaba.checks.service", facts.python, environment)]


def roles(config: SiteConfig, facts) -> list[dict]:
    # Members of every course that has graders may reach the service; which course a call
    # may judge is decided by the service itself, from the caller's groups, on every call.
    courses = GraderDirectory(graders_dir(config, facts.hub_config_dir)).courses()
    if not courses:
        return []
    return [
        {
            "name": "check-users",
            "description": "Learners and staff of courses with graders use the instant checks.",
            "scopes": [ACCESS, LOOKUP],
            "groups": [g.format(c) for c in courses for g in (LEARNER_GROUP, GRADER_GROUP)],
        }
    ]


def server_scopes(config: SiteConfig) -> list[str]:
    # The kernel finds the service in the hub and calls it with the server's token. The hub
    # keeps only what the user holds, so non-members' servers get neither.
    return [ACCESS, LOOKUP, "read:users:groups!user"]
