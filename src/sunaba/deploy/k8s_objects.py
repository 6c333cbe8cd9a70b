"""What every object Sunaba adds to the cluster shares: its labels and metadata, and the
restricted security context of its containers."""

from __future__ import annotations

LABELS = {"app.kubernetes.io/part-of": "sunaba", "app.kubernetes.io/managed-by": "Helm"}


def meta(name: str, **labels: str) -> dict:
    return {"name": name, "labels": {**LABELS, **labels}}


def restricted(uid: int, read_only_root: bool = True) -> dict:
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": read_only_root,
        "capabilities": {"drop": ["ALL"]},
    }
