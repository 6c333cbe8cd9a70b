"""What `sunaba courses sync` tells a running hub: the group changes through its API with the
admin service token, and a reload when formgraders are to start or stop."""

from __future__ import annotations

from sunaba.config.schema import SiteConfig
from sunaba.core.hubclient import HubUnreachable, admin_client, public_hub_url
from sunaba.core.hubreload import (
    ask_supervisor,
    hub_services,
    shut_down_keeping_servers,
    wait_for_services,
    wait_until_serving,
)
from sunaba.core.layout import FORMGRADER_SERVICE
from sunaba.core.state import StatePaths
from sunaba.courses.groups import GroupPlan, reconcile_groups
from sunaba.courses.hub_owned import hub_owns_courses

# A reload starts every service the hub runs again, one after another.
RELOAD_TIMEOUT = 300
NOT_APPLIED = "実行中のハブに採点画面を反映できませんでした。ハブを再起動すると反映されます"
RELOADED = "ハブを再起動して採点画面を反映しました（学習者のサーバーは動いたままです）"
POD_RESTARTS = "反映するためにハブを再起動しています。ハブのポッドが数秒で起動し直します"


def is_formgrader(name: str) -> bool:
    return name.startswith(FORMGRADER_SERVICE.format(""))


def _change_notes(wanted: set[str], present: set[str], done: bool) -> list[str]:
    verb = "しました" if done else "します"
    notes = [f"採点画面を起動{verb}: {name}" for name in sorted(wanted - present)]
    return notes + [f"採点画面を停止{verb}: {name}" for name in sorted(present - wanted)]


def _reload_failed(config: SiteConfig, outcome: str) -> str:
    if outcome == "not restarted":
        return (
            "ハブが再起動しませんでした。`sunaba up` の出力を確認し、Sunaba を停止してから"
            "起動し直すと反映されます"
        )
    log = StatePaths.from_config(config).log_dir / "jupyterhub.log"
    return f"再起動したハブに採点画面が揃いませんでした。ハブのログ（{log}）を確認してください"


def reload_for_formgraders(config: SiteConfig, client, wanted: set[str]) -> list[str]:
    """When the synced courses' formgraders (`wanted`) are not the running hub's, reload the
    hub (`sunaba.core.hubreload`): it starts the new ones and stops the retired ones, with the
    roles that open them. On one machine the sync waits for the new hub; on Kubernetes the hub
    pod restarts its container, which also ends a sync run in it with `kubectl exec`."""
    present = hub_services(client)
    if present is None:
        return [NOT_APPLIED]
    present = {name for name in present if is_formgrader(name)}
    if present == wanted:
        return []
    if hub_owns_courses(config):
        if not shut_down_keeping_servers(client):
            return [NOT_APPLIED]
        return [*_change_notes(wanted, present, done=False), POD_RESTARTS]
    if not ask_supervisor(StatePaths.from_config(config).supervisor_pid_file):
        return [NOT_APPLIED]
    outcome, services = wait_for_services(client, is_formgrader, wanted, RELOAD_TIMEOUT)
    routes = [f"{public_hub_url(config)}services/{name}/" for name in sorted(wanted - present)]
    if outcome == "done" and not wait_until_serving(services, routes, RELOAD_TIMEOUT):
        outcome = "timeout"
    if outcome != "done":
        return [*_change_notes(wanted, present, done=False), _reload_failed(config, outcome)]
    return [*_change_notes(wanted, present, done=True), RELOADED]


def hub_client(config: SiteConfig):
    """A client of the running hub's API with the admin service token, or None."""
    client = admin_client(config, timeout=30)
    if client is None:
        return None
    try:
        client.call("GET", "/", ok=[401, 403])
    except HubUnreachable:
        return None
    return client


def update_running_hub(
    config: SiteConfig, client, plans: dict[str, GroupPlan], formgraders: set[str]
) -> list[str]:
    """Apply the planned group memberships at once, and reload the hub when the formgraders
    it should run (`formgraders`, service names) changed; the notes."""
    notes = []
    changes = reconcile_groups(client, plans)
    for group, users in changes.added.items():
        notes.append(f"ハブのグループ {group} に追加: {', '.join(users)}")
    for group, users in changes.removed.items():
        notes.append(f"ハブのグループ {group} から削除: {', '.join(users)}")
    return notes + reload_for_formgraders(config, client, formgraders)
