"""Rendered files: built in memory, checked, and only then written.

Rendering is deterministic (same config, same bytes): no timestamps, sorted keys, fixed order.
Nothing is written until every file of a target has been rendered and validated, so a broken
config never leaves half a deployment behind.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from sunaba.core.files import write_atomic
from sunaba.messages import BilingualError

HEADER = "Rendered by `sunaba deploy render` from the site config; edit the config, not this file."


@dataclass(frozen=True)
class RenderedFile:
    path: str  # relative to the output directory
    text: str
    mode: int = 0o644


class RenderError(BilingualError):
    """The config cannot be rendered for this target; the message says what and where, in
    Japanese and English (`sunaba.messages`)."""


def comment_header(prefix: str = "#") -> str:
    return f"{prefix} {HEADER}\n"


def dump_yaml(data) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=True, default_flow_style=False)


def secret_values(config) -> list[str]:
    """Every secret the loaded config holds; none of them may appear in a rendered file."""
    found = [
        config.auth.oidc.client_secret,
        config.auth.ldap.search_password,
    ]
    from sqlalchemy import make_url

    for url in (config.hub.db_url, config.records.db_url):
        if url:
            password = make_url(url).password
            if password:
                found.append(str(password))
    return [value for value in found if value]


def check_no_secrets(files: Iterable[RenderedFile], secrets: Iterable[str]) -> None:
    secrets = [s for s in secrets if len(s) >= 4]
    for rendered in files:
        for secret in secrets:
            if secret in rendered.text:
                raise RenderError(
                    ja=f"{rendered.path} に秘密の値が入ってしまいます。秘密の値は secrets.yaml"
                    "（VM）か Kubernetes の Secret に置き、書き出すファイルには入れないでください",
                    en=f"{rendered.path} would contain a secret; keep secrets in secrets.yaml "
                    "(VM) or a Kubernetes Secret, never in rendered files",
                )


def write_files(files: list[RenderedFile], out: Path) -> list[Path]:
    """Write every file under `out` (each atomically); return the paths written."""
    written = []
    for rendered in files:
        target = out / rendered.path
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, rendered.text, mode=rendered.mode)
        written.append(target)
    return written
