"""Courses where the hub cannot make Unix accounts: in the hub pod on Kubernetes.

There the course directories belong to the hub's own user, on a volume of their own that the
hub pod and each course's formgrader pod mount (the formgrader only its course's folder), and
the formgrader is a pod with a hub API token of its own (`sunaba.deploy.k8s_formgraders`).

Which path a site takes is decided by `grading.backend`: the site config the chart gives the
hub pod sets it to `kubernetes` (`sunaba.deploy.k8s_values.k8s_site_config`), and it is the one
fact that the hub process and `sunaba courses sync` (run in the hub pod with `kubectl exec`)
read alike. `HubFacts.sandbox_mode` says the same thing but exists only inside the hub
process, and the two must never disagree: a sync that made no account for a course the hub
then tried to run as that account would leave the course without a formgrader.
"""

from __future__ import annotations

import secrets
import stat
from pathlib import Path

import yaml

from sunaba.config.schema import SiteConfig
from sunaba.core.files import write_atomic
from sunaba.core.layout import CoursePaths, grading_root
from sunaba.core.state import StatePaths, read_secrets
from sunaba.sandbox.accounts import AccountError

TOKENS_KEY = "formgrader_tokens"


def hub_owns_courses(config: SiteConfig) -> bool:
    return config.grading.backend == "kubernetes"


def ensure_course_dir(config: SiteConfig, course_id: str) -> tuple[Path, bool]:
    """The course's 0700 directory, owned by the hub's user; (path, created?)."""
    root = grading_root(config)
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    home = CoursePaths.of(config, course_id).root
    created = not home.exists()
    home.mkdir(mode=0o700, exist_ok=True)
    info = home.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise AccountError(f"{home} must be a directory")
    home.chmod(0o700)
    return home, created


def course_dir_exists(config: SiteConfig, course_id: str) -> bool:
    return CoursePaths.of(config, course_id).root.is_dir()


def course_set_up(config: SiteConfig, course_id: str) -> bool:
    """A sync made its directory and its formgrader's token: the hub may register it."""
    return course_dir_exists(config, course_id) and bool(formgrader_token(config, course_id))


def formgrader_token(config: SiteConfig, course_id: str) -> str | None:
    """The token the hub registers the course's formgrader with, if a sync has made one."""
    paths = StatePaths.from_config(config)
    return read_secrets(paths).get(TOKENS_KEY, {}).get(course_id)


def ensure_formgrader_token(config: SiteConfig, course_id: str) -> tuple[str, bool]:
    """Made once and kept in the state dir's secrets file (0600), like the services' tokens:
    the hub reads it at every start, the formgrader pod gets it through its Secret."""
    existing = formgrader_token(config, course_id)
    if existing:
        return existing, False
    paths = StatePaths.from_config(config)
    data = read_secrets(paths)
    token = secrets.token_hex(32)
    data.setdefault(TOKENS_KEY, {})[course_id] = token
    write_atomic(paths.secrets, yaml.safe_dump(data, sort_keys=True), mode=0o600)
    return token, True
