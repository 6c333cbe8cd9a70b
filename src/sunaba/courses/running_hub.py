"""What `sunaba courses sync` tells a running hub: the group changes, and the formgraders to
start or stop, through its API with the admin service token."""

from __future__ import annotations

from sunaba.config.schema import SiteConfig
from sunaba.core.hubclient import HubClient, HubUnreachable, hub_api_url
from sunaba.core.state import StatePaths, read_secrets
from sunaba.courses.groups import GroupPlan, reconcile_groups


def apply_live_services(client) -> list[str]:
    """Start the formgraders of newly synced courses (and stop those of retired ones) in the
    running hub, as a restart would (see `sunaba.hub.live_services`)."""
    # live_services imports JupyterHub's handlers; a sync outside the hub never needs them.
    from sunaba.hub.live_services import ROUTE

    status, result = client.call("POST", ROUTE.removeprefix("/api"), {}, ok=[403, 404])
    if status != 200 or not isinstance(result, dict):
        return ["実行中のハブに採点画面を反映できませんでした。ハブを再起動すると反映されます"]
    notes = [f"採点画面を起動しました: {name}" for name in result.get("started", [])]
    notes += [f"採点画面を停止しました: {name}" for name in result.get("stopped", [])]
    notes += [
        f"採点画面を起動できませんでした（ハブのログを確認してください）: {name}"
        for name in result.get("failed", [])
    ]
    return notes


def hub_client(config: SiteConfig):
    """A client of the running hub's API with the admin service token, or None."""
    token = (
        read_secrets(StatePaths.from_config(config)).get("service_tokens", {}).get("sunaba-admin")
    )
    if not token:
        return None
    client = HubClient(hub_api_url(config), token, timeout=30)
    try:
        client.call("GET", "/", ok=[401, 403])
    except HubUnreachable:
        return None
    return client


def update_running_hub(client, plans: dict[str, GroupPlan]) -> list[str]:
    """Apply the planned group memberships and the formgrader services at once; the notes."""
    notes = []
    changes = reconcile_groups(client, plans)
    for group, users in changes.added.items():
        notes.append(f"ハブのグループ {group} に追加: {', '.join(users)}")
    for group, users in changes.removed.items():
        notes.append(f"ハブのグループ {group} から削除: {', '.join(users)}")
    return notes + apply_live_services(client)
