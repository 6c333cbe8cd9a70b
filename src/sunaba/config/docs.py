"""Generate docs/reference/config.md from the schema, so the reference cannot drift."""

from __future__ import annotations

import json
from types import UnionType
from typing import Literal, Union, get_args, get_origin

from pydantic import BaseModel

from sunaba.config.schema import SiteConfig


def _default_text(field) -> str:
    value = field.default_factory() if field.default_factory is not None else field.default
    if isinstance(value, BaseModel):
        return ""
    return "`" + json.dumps(value, ensure_ascii=False) + "`"


def _type_text(annotation) -> str:
    if get_origin(annotation) is Literal:
        return " / ".join(f"`{value}`" for value in get_args(annotation))
    if get_origin(annotation) in (Union, UnionType) and any(
        get_origin(arg) is Literal for arg in get_args(annotation)
    ):
        return " or ".join(_type_text(arg) for arg in get_args(annotation))
    text = str(annotation) if get_args(annotation) else annotation.__name__
    return text.replace("typing.", "").replace("|", "or")


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows: list[str] = []
    nested: list[tuple[str, type[BaseModel]]] = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            nested.append((path, annotation))
            continue
        description = (field.description or "").replace("\n", " ")
        rows.append(
            f"| `{path}` | {_type_text(annotation)} | {_default_text(field)} | {description} |"
        )
    for path, sub in nested:
        rows.extend(_rows(sub, path + "."))
    return rows


def render_reference() -> str:
    lines = [
        "# Site config reference",
        "",
        "Generated from `src/sunaba/config/schema.py` by `sunaba config docs`; do not edit by hand.",
        "",
        "The effective config is built in layers: these defaults, then `hub_config/sunaba.yaml`",
        "(or the file named by `--config` / `$SUNABA_CONFIG`), then environment variables such as",
        "`SUNABA__HUB__PORT=9000`, then `secrets.yaml` in the state directory. Unknown keys are",
        "errors. `sunaba config check` lists every problem; `sunaba config show` prints the result",
        "with secrets masked.",
        "",
    ]
    for name, field in SiteConfig.model_fields.items():
        lines += [f"## `{name}`", "", field.description or "", ""]
        lines += ["| key | type | default | description |", "|---|---|---|---|"]
        lines += _rows(field.annotation, f"{name}.")
        lines.append("")
    return "\n".join(lines)
