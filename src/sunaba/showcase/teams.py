"""Teams are hub groups named `team-<name>`; their display title and course are group properties.

Who may manage teams: hub admins and course staff (members of a `formgrade-<course>` group, the
graders' group that course sync creates).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sunaba.core.hubclient import AsyncHubClient, HubApiError
from sunaba.showcase.paths import TEAM_PREFIX

TEAM_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$")
STAFF_GROUP_PREFIX = "formgrade-"


class TeamError(Exception):
    """A team operation was refused; the message is for people (Japanese)."""


@dataclass(frozen=True)
class Team:
    name: str
    title: str = ""
    course: str = ""
    members: tuple[str, ...] = ()

    @property
    def group(self) -> str:
        return TEAM_PREFIX + self.name

    @property
    def label(self) -> str:
        return self.title or self.name


@dataclass(frozen=True)
class Viewer:
    """Who is asking, as the hub knows them right now."""

    name: str
    admin: bool = False
    groups: frozenset[str] = field(default_factory=frozenset)

    @property
    def teams(self) -> set[str]:
        return {g[len(TEAM_PREFIX) :] for g in self.groups if g.startswith(TEAM_PREFIX)}

    @property
    def can_manage_teams(self) -> bool:
        return self.admin or any(g.startswith(STAFF_GROUP_PREFIX) for g in self.groups)

    def in_team(self, team: str) -> bool:
        return team in self.teams


def check_team_name(name: str) -> str:
    name = name.strip()
    if name.startswith(TEAM_PREFIX):
        name = name[len(TEAM_PREFIX) :]
    if not TEAM_NAME.match(name):
        raise TeamError(
            f"チーム名「{name}」は使えません。半角の英小文字・数字・ハイフンで、"
            "31 文字までにしてください（例: hinan-map）。"
        )
    return name


def team_from_group(group: dict) -> Team | None:
    name = group.get("name", "")
    if not name.startswith(TEAM_PREFIX):
        return None
    properties = group.get("properties") or {}
    return Team(
        name=name[len(TEAM_PREFIX) :],
        title=str(properties.get("title", "")),
        course=str(properties.get("course", "")),
        members=tuple(sorted(group.get("users", []))),
    )


async def list_teams(api: AsyncHubClient) -> list[Team]:
    teams = [team_from_group(g) for g in await api.groups()]
    return sorted((t for t in teams if t is not None), key=lambda t: t.name)


async def get_team(api: AsyncHubClient, name: str) -> Team | None:
    group = await api.group(TEAM_PREFIX + name)
    return team_from_group(group) if group else None


async def create_team(api: AsyncHubClient, name: str, title: str = "", course: str = "") -> Team:
    name = check_team_name(name)
    if await api.group(TEAM_PREFIX + name) is not None:
        raise TeamError(f"チーム「{name}」はもうあります。")
    await api.create_group(TEAM_PREFIX + name, {"title": title.strip(), "course": course.strip()})
    return Team(name=name, title=title.strip(), course=course.strip())


async def add_members(api: AsyncHubClient, name: str, users: list[str]) -> None:
    name = check_team_name(name)
    missing = [u for u in users if await api.user(u) is None]
    if missing:
        raise TeamError("ハブにいないユーザーです: " + "、".join(missing))
    try:
        await api.add_to_group(TEAM_PREFIX + name, users)
    except HubApiError as exc:
        if exc.status == 404:
            raise TeamError(f"チーム「{name}」はありません。") from exc
        raise


async def remove_members(api: AsyncHubClient, name: str, users: list[str]) -> None:
    name = check_team_name(name)
    try:
        await api.remove_from_group(TEAM_PREFIX + name, users)
    except HubApiError as exc:
        if exc.status == 404:
            raise TeamError(f"チーム「{name}」はありません。") from exc
        raise


async def delete_team(api: AsyncHubClient, name: str) -> None:
    name = check_team_name(name)
    try:
        await api.delete_group(TEAM_PREFIX + name)
    except HubApiError as exc:
        if exc.status == 404:
            raise TeamError(f"チーム「{name}」はありません。") from exc
        raise


async def viewer(api: AsyncHubClient, name: str) -> Viewer | None:
    model = await api.user(name)
    if model is None:
        return None
    return Viewer(
        name=model["name"],
        admin=bool(model.get("admin")),
        groups=frozenset(model.get("groups", [])),
    )
