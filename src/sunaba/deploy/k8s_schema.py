"""Validate values against the Zero to JupyterHub chart's own values schema.

Helm merges user values over the chart's `values.yaml` (maps deeply, everything else replaced)
and then checks the result against `values.schema.json`; this does the same with the chart's
schema file, so a misspelled or misplaced key fails here, before anything is written.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sunaba.config.loader import repo_root
from sunaba.deploy.rendered import RenderError

SCHEMA_ENV = "SUNABA_Z2JH_REFERENCE"


@dataclass(frozen=True)
class ChartReference:
    """The chart's `values.schema.yaml` and `values.yaml`, side by side in one folder."""

    folder: Path

    @property
    def schema(self) -> dict:
        return yaml.safe_load((self.folder / "values.schema.yaml").read_text(encoding="utf-8"))

    @property
    def defaults(self) -> dict:
        return yaml.safe_load((self.folder / "values.yaml").read_text(encoding="utf-8"))


def find_chart_reference(explicit: str | None = None) -> ChartReference | None:
    """`explicit`, else $SUNABA_Z2JH_REFERENCE, else `shared/reference/z2jh` beside the checkout."""
    candidates = [explicit, os.environ.get(SCHEMA_ENV)]

    root = repo_root()
    if root is not None:
        candidates.append(str(root.parent / "shared" / "reference" / "z2jh"))
    for candidate in candidates:
        if candidate and (Path(candidate) / "values.schema.yaml").is_file():
            return ChartReference(Path(candidate))
    if explicit:
        raise RenderError(
            ja=f"{explicit}: values.schema.yaml がありません",
            en=f"{explicit}: no values.schema.yaml there",
        )
    return None


def helm_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if value is None:
            merged.pop(key, None)  # helm: null removes a default
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = helm_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def validate_values(values: Mapping[str, Any], reference: ChartReference) -> dict:
    """Merge `values` over the chart defaults and validate; return the merged values."""
    import jsonschema

    merged = helm_merge(reference.defaults, values)
    validator = jsonschema.Draft7Validator(reference.schema)
    errors = sorted(validator.iter_errors(merged), key=lambda e: list(e.absolute_path))
    if errors:
        lines = []
        for error in errors[:10]:
            where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
            lines.append(f"  jupyterhub.{where}: {error.message[:300]}")
        raise RenderError(
            ja=f"values が Zero to JupyterHub チャートのスキーマ（{reference.folder}）に"
            "合いません:\n" + "\n".join(lines),
            en="the values do not match the Zero to JupyterHub chart schema "
            f"({reference.folder}):\n" + "\n".join(lines),
        )
    return merged
