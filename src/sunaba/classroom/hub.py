"""Area hooks for the hub config: the exchange service, a formgrader per synced course, the
roles that open them, the scopes learners' servers need, and the course groups.

Only courses that a sync has set up (exchange entry written, grader account and directory
present) get a formgrader: a course file alone never makes the hub try to run something as an
account that does not exist yet. On Kubernetes (`sunaba.courses.hub_owned`) the formgrader is a
pod that the sync made, and the hub registers it as an external service with the token the
sync gave it. What the syncs left is read once, by `gather`, before the hub config is composed;
the other hooks only read it from the facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sunaba.classroom.service import CONFIG_ENV
from sunaba.config.schema import SiteConfig
from sunaba.core.layout import (
    EXCHANGE_SERVICE,
    FORMGRADER_SERVICE,
    GRADER_GROUP,
    LEARNER_GROUP,
    CoursePaths,
    exchange_root,
    grader_account,
)
from sunaba.courses.accounts import grader_exists
from sunaba.courses.groups import groups_file, read_plans
from sunaba.courses.hub_owned import course_set_up, formgrader_token, hub_owns_courses
from sunaba.deploy.k8s_formgraders import hub_service_spec
from sunaba.exchange.store import ExchangeStore
from sunaba.hub.areas import module_service
from sunaba.hub.ports import derived_port
from sunaba.hub.scopes import add_user_scopes
from sunaba.sandbox.firewall import kernel_environment

EXCHANGE_ACCESS = f"access:services!service={EXCHANGE_SERVICE}"
EXCHANGE_LOOKUP = f"read:services!service={EXCHANGE_SERVICE}"


def base_port(config: SiteConfig, count: int = 1) -> int:
    """The exchange's port; the `count - 1` formgraders take the ports after it."""
    if config.courses.service_port:
        return config.courses.service_port
    # Below Linux's ephemeral range, so a port the kernel hands out never collides with it.
    return derived_port(config.hub.state_dir, 20000, 9000, count)


def synced_courses(config: SiteConfig) -> list[str]:
    set_up = course_set_up if hub_owns_courses(config) else grader_exists
    return [c for c in ExchangeStore(exchange_root(config)).courses() if set_up(config, c)]


# This area's entry point name (pyproject.toml): where its gathered state sits in the facts.
AREA = "classroom"


@dataclass(frozen=True)
class Synced:
    """What the course syncs left on disk, as the hub config needs it."""

    courses: tuple[str, ...] = ()
    groups: dict[str, list[str]] = field(default_factory=dict)  # group name -> members
    formgrader_tokens: dict[str, str] = field(default_factory=dict)  # on Kubernetes only


def gather(config: SiteConfig) -> Synced:
    courses = tuple(synced_courses(config))
    tokens = {}
    if hub_owns_courses(config):
        tokens = {course: formgrader_token(config, course) or "" for course in courses}
    plans = read_plans(groups_file(config))
    return Synced(courses, {name: plan.members for name, plan in plans.items()}, tokens)


def synced(facts) -> Synced:
    """The gathered state; none (no course synced) when the caller gathered nothing."""
    return facts.areas.get(AREA) or Synced()


def formgrader_pod_services(config: SiteConfig, state: Synced) -> list[dict]:
    return [hub_service_spec(config, c, state.formgrader_tokens.get(c, "")) for c in state.courses]


def _venv_bin(config: SiteConfig, name: str) -> str:
    return str(Path(config.hub.prefix) / "venv" / "bin" / name)


def services(config: SiteConfig, facts) -> list[dict]:
    state = synced(facts)
    courses = state.courses
    port = base_port(config, 1 + len(courses))
    environment = {CONFIG_ENV: config.model_dump_json()}
    module = "sunaba.classroom.service"
    found = [module_service(EXCHANGE_SERVICE, port, module, facts.python, environment, pages=True)]
    if hub_owns_courses(config):
        return found + formgrader_pod_services(config, state)
    for offset, course in enumerate(courses, start=1):
        paths = CoursePaths.of(config, course)
        found.append(
            {
                "name": FORMGRADER_SERVICE.format(course),
                "url": f"http://127.0.0.1:{port + offset}",
                # Kernels over Unix sockets: the grader account is under the learners' network
                # policy, which refuses loopback TCP (`sunaba.sandbox.firewall`).
                "command": [
                    _venv_bin(config, "jupyterhub-singleuser"),
                    "--KernelManager.transport=ipc",
                ],
                "user": grader_account(config, course),
                "cwd": str(paths.root),
                "environment": {
                    "PATH": f"{Path(config.hub.prefix) / 'venv' / 'bin'}:/usr/bin:/bin",
                    "LANG": "C.UTF-8",
                    "JUPYTERHUB_DEFAULT_URL": "/formgrader",
                    **kernel_environment(config, grader_account(config, course)),
                },
                "oauth_no_confirm": True,
                "display": False,
            }
        )
    return found


def roles(config: SiteConfig, facts) -> list[dict]:
    courses = synced(facts).courses
    found = [
        {
            "name": "sunaba-exchange",
            "description": "The exchange keeps course groups in line with the course files "
            "(callers are identified with their own tokens).",
            "scopes": ["admin:groups"],
            "services": [EXCHANGE_SERVICE],
        }
    ]
    if not courses:
        return found
    found.append(
        {
            "name": "course-members",
            "description": "Learners and staff of a course use the exchange and its pages.",
            "scopes": [EXCHANGE_ACCESS, EXCHANGE_LOOKUP],
            "groups": [g.format(c) for c in courses for g in (LEARNER_GROUP, GRADER_GROUP)],
        }
    )
    for course in courses:
        service = FORMGRADER_SERVICE.format(course)
        found.append(
            {
                "name": f"{service}-users",
                "description": f"Staff of {course} open its formgrader.",
                "scopes": [f"access:services!service={service}"],
                "groups": [GRADER_GROUP.format(course)],
            }
        )
        found.append(
            {
                "name": service,
                "description": f"The formgrader of {course} releases and collects through "
                "the exchange.",
                "scopes": [EXCHANGE_ACCESS, EXCHANGE_LOOKUP],
                "services": [service],
            }
        )
    return found


def server_scopes(config: SiteConfig) -> list[str]:
    # A learner's server token carries the learner's identity to the exchange (the hub's
    # whoami always includes name and groups) and may look the exchange up in the hub.
    # Nothing about other users or services.
    return [EXCHANGE_ACCESS, EXCHANGE_LOOKUP]


def update(c, config: SiteConfig, facts) -> None:
    # Course groups exist with their members from the first second the hub runs, whether or
    # not it was running when the courses were synced.
    state = synced(facts)
    c.JupyterHub.load_groups = {name: {"users": members} for name, members in state.groups.items()}
    if not state.courses:
        return
    # Once the site has courses, everyone may open the exchange's pages, so that a person in
    # none of them sees マイコース say so (and whom to ask) instead of the hub's 403. This
    # opens no data: the exchange decides every request from the caller's course groups.
    # Looking the service up stays with course members (`roles`), so a non-member's nbgrader
    # still reports "in no course".
    add_user_scopes(c, [EXCHANGE_ACCESS])
