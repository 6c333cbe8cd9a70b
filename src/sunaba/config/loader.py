"""Load the site config in layers: schema defaults, site file, environment, secrets file.

Each layer is a plain nested dict merged over the previous one; the schema validates the result
once, so an error always names the key path and what was expected.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sunaba.config.problems import Problem, ProblemsError
from sunaba.config.schema import SiteConfig

ENV_PREFIX = "SUNABA__"
SECRETS_FILE = "secrets.yaml"
SECRET_WORDS = ("secret", "token", "password", "api_key")


def _is_checkout(path: Path) -> bool:
    return (path / "hub_config" / "sunaba.yaml").is_file()


def repo_root() -> Path | None:
    """The Sunaba checkout in use: $SUNABA_SOURCE, else the working directory or one of its
    parents, else the directory this code was loaded from (an editable install)."""
    env = os.environ.get("SUNABA_SOURCE")
    if env and _is_checkout(Path(env)):
        return Path(env).resolve()
    cwd = Path.cwd().resolve()
    for parent in [cwd, *cwd.parents, *Path(__file__).resolve().parents]:
        if _is_checkout(parent):
            return parent
    return None


def default_site_file() -> Path:
    env = os.environ.get("SUNABA_CONFIG")
    if env:
        return Path(env)
    root = repo_root()
    if root is not None:
        return root / "hub_config" / "sunaba.yaml"
    return Path("/etc/sunaba/sunaba.yaml")


class ConfigError(ProblemsError):
    """The config could not be loaded; `problems` lists every reason found."""


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_yaml_layer(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError([Problem(str(path), WHOLE_FILE, "ファイルがありません")]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            [
                Problem(
                    str(path), WHOLE_FILE, f"UTF-8 のテキストではありません（{exc.start} バイト目）"
                )
            ]
        ) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{mark.line + 1} 行 {mark.column + 1} 列" if mark else WHOLE_FILE
        problem = getattr(exc, "problem", exc)
        raise ConfigError(
            [Problem(str(path), where, f"YAML として読めません（{problem}）")]
        ) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            [Problem(str(path), TOP_LEVEL, "「セクション名: 設定」の形で書いてください")]
        )
    return data


def env_layer(environ: Mapping[str, str]) -> dict[str, Any]:
    """`SUNABA__HUB__PORT=9000` becomes {'hub': {'port': '9000'}}; YAML syntax for values."""
    layer: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        keys = [part.lower() for part in name[len(ENV_PREFIX) :].split("__")]
        node = layer
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = yaml.safe_load(raw) if raw else ""
    return layer


# Admins read these before the site's language is known: Japanese, the default. Pydantic's
# own (English) text is kept for any error type not listed.
PROBLEM_TEXTS = {
    "missing": "必須の項目です",
    "extra_forbidden": "知らない項目です（綴りを確かめてください。一覧は docs/reference/config.md）",
    "int_parsing": "整数を書いてください",
    "int_type": "整数を書いてください",
    "int_from_float": "整数を書いてください",
    "float_parsing": "数値を書いてください",
    "float_type": "数値を書いてください",
    "bool_parsing": "true か false を書いてください",
    "bool_type": "true か false を書いてください",
    "string_type": "文字列を書いてください",
    "list_type": "リスト（- で始まる行）で書いてください",
    "dict_type": "「キー: 値」の形で書いてください",
    "model_type": "「キー: 値」の形で書いてください",
    "literal_error": "{expected} のどれかを書いてください",
    "greater_than_equal": "{ge} 以上にしてください",
    "greater_than": "{gt} より大きくしてください",
    "less_than_equal": "{le} 以下にしてください",
    "less_than": "{lt} より小さくしてください",
    "string_pattern_mismatch": "形が正しくありません（正規表現 {pattern}）",
    "string_too_short": "{min_length} 文字以上にしてください",
    "string_too_long": "{max_length} 文字以下にしてください",
}
WHOLE_FILE = "（ファイル全体）"
TOP_LEVEL = "（全体）"


def problem_text(err: dict) -> str:
    """One validation error in plain Japanese, with the value that was written."""
    template = PROBLEM_TEXTS.get(err["type"])
    if template is not None:
        ctx = dict(err.get("ctx", {}))
        if "expected" in ctx:  # "'a', 'b' or 'c'"
            ctx["expected"] = str(ctx["expected"]).replace(" or ", ", ").replace(", ", "、")
        try:
            message = template.format(**ctx)
        except (KeyError, IndexError):
            message = err["msg"]
    elif err["type"] == "value_error":  # Sunaba's own validators: already in plain words
        message = err["msg"].removeprefix("Value error, ")
    else:
        message = err["msg"]
    if "input" in err and not isinstance(err["input"], dict | list):
        message += f"（書かれていた値: {err['input']!r}）"
    return message


def _problems_from(exc: ValidationError, source: str) -> list[Problem]:
    return [
        Problem(source, ".".join(str(p) for p in err["loc"]) or TOP_LEVEL, problem_text(err))
        for err in exc.errors()
    ]


def validate(data: Mapping[str, Any], source: str) -> SiteConfig:
    try:
        return SiteConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_problems_from(exc, source)) from exc


def load_config(
    site_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    with_secrets: bool = True,
) -> SiteConfig:
    """Load and validate the effective site config."""
    site_file = site_file or default_site_file()
    environ = os.environ if environ is None else environ
    data = read_yaml_layer(site_file)
    data = deep_merge(data, env_layer(environ))
    config = validate(data, str(site_file))
    if with_secrets:
        secrets_path = Path(config.hub.state_dir) / SECRETS_FILE
        if secrets_path.is_file():
            data = deep_merge(data, read_yaml_layer(secrets_path).get("config", {}))
            config = validate(data, str(secrets_path))
    return config


def masked(data: Any, key: str = "") -> Any:
    """A copy of a config dict with every secret-looking value replaced by asterisks."""
    if isinstance(data, dict):
        return {k: masked(v, k) for k, v in data.items()}
    if isinstance(data, list):
        return [masked(v, key) for v in data]
    if data and any(word in key.lower() for word in SECRET_WORDS):
        return "********"
    return data
