"""Hub groups of courses: `nbgrader-<id>` (learners) and `formgrade-<id>` (staff).

`sunaba courses sync` decides who belongs where and writes it to `groups.json` in the exchange
dir; the hub applies it in three ways, so that it holds whether or not the hub is running:
- at start, `load_groups` (set by `sunaba.classroom.hub.update`) creates the groups and members;
- the exchange service reconciles once it runs (it can also remove people);
- a sync while the hub runs reconciles at once through the API.

Only members that a sync has added are ever removed: people put in a course group by a roster
import stay until they are removed there.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sunaba.config.schema import SiteConfig
from sunaba.core.layout import exchange_root


def groups_file(config: SiteConfig) -> Path:
    return exchange_root(config) / "groups.json"


@dataclass
class GroupPlan:
    """Members a group should have, and every member course files have ever put there."""

    members: list[str] = field(default_factory=list)
    managed: list[str] = field(default_factory=list)


def read_plans(path: Path) -> dict[str, GroupPlan]:
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {name: GroupPlan(**value) for name, value in data.items()}


def write_plans(path: Path, plans: Mapping[str, GroupPlan]) -> bool:
    text = json.dumps(
        {name: {"members": p.members, "managed": p.managed} for name, p in sorted(plans.items())},
        indent=1,
        ensure_ascii=False,
    )
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return True


def plan_group(previous: GroupPlan | None, members: Iterable[str]) -> GroupPlan:
    members = sorted(set(members))
    managed = sorted(set(previous.managed if previous else []) | set(members))
    return GroupPlan(members=members, managed=managed)


@dataclass
class GroupChanges:
    created: list[str] = field(default_factory=list)
    added: dict[str, list[str]] = field(default_factory=dict)
    removed: dict[str, list[str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.created or self.added or self.removed)


def reconcile_groups(client, plans: Mapping[str, GroupPlan]) -> GroupChanges:
    """Bring the hub's groups in line with `plans` through its REST API.

    `client` is a `sunaba.core.hubclient.HubClient` with a token holding admin:groups. With
    admin:users too, users the hub does not know yet are created first (at hub start,
    `load_groups` has created them already).
    """
    changes = GroupChanges()
    wanted_users = sorted({u for p in plans.values() for u in p.members})
    if wanted_users:
        client.call("POST", "/users", {"usernames": wanted_users}, ok=[403, 409])
    for group, plan in sorted(plans.items()):
        path = "/groups/" + urllib.parse.quote(group, safe="")
        status, model = client.call("GET", path, ok=[404])
        if status == 404:
            client.call("POST", path, {}, ok=[409])
            changes.created.append(group)
            model = {"users": []}
        present = set(model.get("users", [])) if isinstance(model, dict) else set()
        missing = [u for u in plan.members if u not in present]
        if missing:
            # One by one: a name the hub refuses must not keep the others out.
            status, _ = client.call("POST", path + "/users", {"users": missing}, ok=[400, 404])
            if status in (400, 404):
                missing = [
                    u
                    for u in missing
                    if client.call("POST", path + "/users", {"users": [u]}, ok=[400, 404])[0] < 400
                ]
            if missing:
                changes.added[group] = missing
        extra = sorted((present & set(plan.managed)) - set(plan.members))
        if extra:
            client.call("DELETE", path + "/users", {"users": extra})
            changes.removed[group] = extra
    return changes
