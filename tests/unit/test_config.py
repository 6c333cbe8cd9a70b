"""The site config: one schema, layered loading, every problem named with its key path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sunaba.config import ConfigError, load_config, masked, parse_size
from sunaba.config.docs import render_reference
from sunaba.config.loader import env_layer

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, data) -> Path:
    path = tmp_path / "sunaba.yaml"
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_site_file_is_valid():
    config = load_config(REPO / "hub_config" / "sunaba.yaml", environ={}, with_secrets=False)
    assert config.site.language == "ja"
    assert config.hub.ip == "127.0.0.1"
    assert config.hub.port == 8000


def test_empty_file_gives_schema_defaults(tmp_path):
    config = load_config(write(tmp_path, ""), environ={}, with_secrets=False)
    assert config.sandbox.mode == "auto"
    assert config.culler.enabled is True
    assert config.hub.state_dir == "/var/lib/sunaba"


def test_every_problem_is_reported_with_its_key_path(tmp_path):
    path = write(
        tmp_path,
        {
            "hub": {"port": 70000, "admin_user": ["x"]},
            "sandbox": {"memory_limit": "lots", "mode": "docker"},
            "culler": {"timeout": 5},
        },
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={}, with_secrets=False)
    found = {p.path: p.message for p in info.value.problems}
    assert set(found) == {
        "hub.port",
        "hub.admin_user",
        "sandbox.memory_limit",
        "sandbox.mode",
        "culler.timeout",
    }
    assert "知らない項目です" in found["hub.admin_user"]
    assert "65535 以下にしてください" in found["hub.port"] and "70000" in found["hub.port"]
    assert "30 以上にしてください" in found["culler.timeout"] or "以上" in found["culler.timeout"]
    assert "512M" in found["sandbox.memory_limit"]
    assert "'docker'" in found["sandbox.mode"]
    assert all(p.source == str(path) for p in info.value.problems)


def test_yaml_syntax_error_names_line(tmp_path):
    path = write(tmp_path, "hub:\n  port: [8000\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={}, with_secrets=False)
    assert info.value.problems[0].path == "3 行 1 列"
    assert "YAML として読めません" in info.value.problems[0].message


def test_environment_overrides_file(tmp_path):
    path = write(tmp_path, {"hub": {"port": 8000}})
    config = load_config(
        path,
        environ={"SUNABA__HUB__PORT": "9000", "SUNABA__CULLER__ENABLED": "false"},
        with_secrets=False,
    )
    assert config.hub.port == 9000
    assert config.culler.enabled is False
    assert env_layer({"OTHER": "1"}) == {}


def test_secrets_file_in_state_dir_is_the_last_layer(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "secrets.yaml").write_text(
        yaml.safe_dump({"config": {"hub": {"db_url": "postgresql+psycopg://hub:pw@db/hub"}}})
    )
    path = write(tmp_path, {"hub": {"state_dir": str(state)}})
    config = load_config(path, environ={})
    assert config.hub.db_url.endswith("@db/hub")
    shown = masked({"hub": {"db_url": "x", "api_token": "abc", "port": 1}})
    assert shown["hub"]["api_token"] == "********"
    assert shown["hub"]["port"] == 1


def test_sizes():
    assert parse_size("512M") == 512 * 1024**2
    assert parse_size("1.5GiB") == int(1.5 * 1024**3)
    assert parse_size(1000) == 1000


def test_reference_docs_are_generated_from_the_schema():
    committed = (REPO / "docs" / "reference" / "config.md").read_text(encoding="utf-8")
    assert committed == render_reference(), "run `sunaba config docs` and commit the result"


def test_every_key_has_a_description():
    from pydantic import BaseModel

    from sunaba.config.schema import SiteConfig

    def walk(model, prefix=""):
        for name, field in model.model_fields.items():
            assert field.description, f"{prefix}{name} has no description"
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk(annotation, f"{prefix}{name}.")

    walk(SiteConfig)


def test_config_check_cli_exit_codes(tmp_path):
    bad = write(tmp_path, {"hub": {"prot": 1}})
    result = subprocess.run(
        [sys.executable, "-m", "sunaba.cli", "config", "check", str(bad)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "hub.prot" in result.stderr
    good = tmp_path / "good.yaml"
    good.write_text("site:\n  language: en\n")
    result = subprocess.run(
        [sys.executable, "-m", "sunaba.cli", "config", "check", str(good)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
