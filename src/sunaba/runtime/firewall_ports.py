"""The ports the learners' network policy lets through on one machine, and pinning them for
`sunaba up`.

The areas that run the services know their ports (the courses' exchange, the instant checks,
the showcase); the sandbox's firewall only renders and installs the rules it is given. This
module sits above both, like the commands that install the policy.
"""

from __future__ import annotations

from sunaba.checks.hub import service_port as checks_port
from sunaba.classroom.hub import base_port, synced_courses
from sunaba.config.schema import SiteConfig
from sunaba.showcase.hub import service_port as showcase_port


def service_ports(config: SiteConfig) -> tuple[int, ...]:
    """The hub API and the services learners' processes call directly: the exchange, the
    instant checks and the showcase (the thumbnail renderer opens apps through it)."""
    ports = [config.hub.hub_port, base_port(config), checks_port(config)]
    if config.showcase.enabled:
        ports.append(showcase_port(config))
    return tuple(sorted(set(ports)))


def pinned_ports(config: SiteConfig) -> dict[str, str]:
    """Config environment that fixes the services' ports `sunaba up` allows, so the hub it
    starts (another process) listens on exactly those."""
    env = {}
    if not config.courses.service_port:
        port = base_port(config, 1 + len(synced_courses(config)))
        env["SUNABA__COURSES__SERVICE_PORT"] = str(port)
    if not config.checks.port:
        env["SUNABA__CHECKS__PORT"] = str(checks_port(config))
    if config.showcase.enabled and not config.showcase.port:
        env["SUNABA__SHOWCASE__PORT"] = str(showcase_port(config))
    return env
