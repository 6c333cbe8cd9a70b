"""The site config as it may travel into rendered files: every secret removed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import URL, make_url

from sunaba.config.loader import SECRET_WORDS
from sunaba.config.schema import SiteConfig


def without_password(url: URL) -> str:
    # URL.set(password=None) means "leave it": replace the field of the named tuple instead.
    return url._replace(password=None).render_as_string(hide_password=False)


def _without_password(url: str) -> str:
    if not url:
        return url
    parsed = make_url(url)
    if parsed.password is None:
        return url
    return without_password(parsed)


def _is_secret_key(key: str) -> bool:
    # `client_secret`, `search_password`, `api_token`: secrets; `token_url` is not.
    return key.lower().endswith(SECRET_WORDS)


def _strip(data: Any) -> Any:
    if isinstance(data, dict):
        return {key: _strip(value) for key, value in data.items() if not _is_secret_key(key)}
    if isinstance(data, list):
        return [_strip(value) for value in data]
    return data


def public_site_config(config: SiteConfig) -> dict:
    """The effective config as plain data, with secret keys dropped and DB passwords removed;
    the target reads the secrets from its own secret store (secrets.yaml, env, Secrets)."""
    data = _strip(config.model_dump(mode="json"))
    data["hub"]["db_url"] = _without_password(config.hub.db_url)
    data["records"]["db_url"] = _without_password(config.records.db_url)
    return data
