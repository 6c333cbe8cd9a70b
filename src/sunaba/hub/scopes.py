"""Scopes several areas add to every user's default role."""

from __future__ import annotations

from collections.abc import Iterable


def add_user_scopes(c, scopes: Iterable[str]) -> None:
    """Add to `JupyterHub.extra_user_scopes` as a union with what another area set, so the
    order in which areas apply never matters."""
    current = set(c.JupyterHub.extra_user_scopes) if "extra_user_scopes" in c.JupyterHub else set()
    c.JupyterHub.extra_user_scopes = sorted(current | set(scopes))
