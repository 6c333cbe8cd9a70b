"""The Roles Sunaba's chart grants the hub's service account: to run grading pods, to manage the
courses' formgraders and to run published showcase apps; each exactly what its code asks of the
API, nothing else."""

from __future__ import annotations

from sunaba.deploy.k8s_formgraders import API_PERMISSIONS
from sunaba.deploy.k8s_objects import meta

# The hub's service account, as Zero to JupyterHub names it (fullnameOverride "").
HUB_SERVICE_ACCOUNT = "hub"
GRADING_ROLE = "sunaba-grading"
FORMGRADER_ROLE = "sunaba-formgraders"
SHOWCASE_ROLE = "sunaba-showcase"


def _attach_rule() -> dict:
    # A websocket attach is authorised as `get` by older API servers, `create` by newer.
    return {"apiGroups": [""], "resources": ["pods/attach"], "verbs": ["create", "get"]}


def _role_for_hub(name: str, rules: list[dict]) -> list[dict]:
    """A Role and the RoleBinding that gives it to the hub's service account."""
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": meta(name),
        "rules": rules,
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": meta(name),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        # No namespace: a RoleBinding's service account defaults to the binding's own.
        "subjects": [{"kind": "ServiceAccount", "name": HUB_SERVICE_ACCOUNT}],
    }
    return [role, binding]


def grading_rbac() -> list[dict]:
    """What the hub needs to run grading pods (sunaba.grading.pods): create them, read their
    status, attach to them (job in, results out) and delete them; nothing else."""
    pods = {"apiGroups": [""], "resources": ["pods"], "verbs": ["create", "delete", "get"]}
    return _role_for_hub(GRADING_ROLE, [pods, _attach_rule()])


def formgrader_rbac() -> list[dict]:
    """What `sunaba courses sync` in the hub pod needs for the courses' formgraders
    (sunaba.classroom.formgrader_pods): read, create, replace and delete their Deployments,
    Services and token Secrets; nothing else (no pods/exec, no listing)."""
    rules = [
        {"apiGroups": [group], "resources": [resource], "verbs": list(verbs)}
        for (group, resource), verbs in sorted(API_PERMISSIONS.items())
    ]
    return _role_for_hub(FORMGRADER_ROLE, rules)


def showcase_rbac() -> list[dict]:
    """What the showcase service needs for apps' pods (sunaba.showcase.k8s_runner): create them,
    read and list them (status, leftovers of a previous run), attach to their snapshot step
    (the snapshot in) and delete them; nothing else."""
    pods = {"apiGroups": [""], "resources": ["pods"], "verbs": ["create", "delete", "get", "list"]}
    return _role_for_hub(SHOWCASE_ROLE, [pods, _attach_rule()])
