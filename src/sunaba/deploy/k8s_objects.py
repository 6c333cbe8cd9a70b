"""What every object Sunaba adds to the cluster shares: its labels and metadata, the
restricted security context of its containers, and the shape of a container the hub talks to
over pods/attach."""

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


def attached_container(name: str, image: str, command: list[str], *env: dict) -> dict:
    """A container whose work comes on stdin and leaves on stdout through the hub's pods/attach
    stream, so it needs no network; home and temporary files in its writable /tmp."""
    return {
        "name": name,
        "image": image,
        "command": command,
        "stdin": True,
        "stdinOnce": True,
        "tty": False,
        "env": [
            {"name": "HOME", "value": "/tmp"},
            {"name": "TMPDIR", "value": "/tmp"},
            {"name": "LANG", "value": "C.UTF-8"},
            {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
            *env,
        ],
    }
