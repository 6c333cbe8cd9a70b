"""Install steps are idempotent and write what learners' servers read."""

from __future__ import annotations

import json
import stat

from sunaba.config.loader import validate
from sunaba.core.state import StatePaths, ensure_secrets, ensure_state_dir, read_secrets
from sunaba.deploy.local_install import (
    ensure_datasets_tree,
    ensure_lab_settings,
    ensure_matplotlibrc,
    lab_overrides,
)


def test_lab_settings_japanese_and_quiet(tmp_path):
    first = ensure_lab_settings(tmp_path, "ja")
    second = ensure_lab_settings(tmp_path, "ja")
    assert first.changed and not second.changed
    path = tmp_path / "venv/share/jupyter/lab/settings/overrides.json"
    data = json.loads(path.read_text())
    assert data["@jupyterlab/translation-extension:plugin"]["locale"] == "ja_JP"
    assert data["@jupyterlab/apputils-extension:notification"]["checkForUpdates"] is False
    assert lab_overrides("en")["@jupyterlab/translation-extension:plugin"]["locale"] == "en"
    assert ensure_lab_settings(tmp_path, "en").changed


def test_matplotlibrc_prefers_japanese_fonts(tmp_path):
    ensure_matplotlibrc(tmp_path)
    text = (tmp_path / "etc/matplotlibrc").read_text()
    assert "IPAexGothic" in text
    assert not ensure_matplotlibrc(tmp_path).changed


def test_datasets_tree_copies_catalogue_and_keeps_fetched_files(tmp_path):
    catalogue = tmp_path / "catalogue"
    (catalogue / "demo").mkdir(parents=True)
    (catalogue / "demo" / "datapackage.yaml").write_text("name: demo\n")
    config = validate({"hub": {"prefix": str(tmp_path / "prefix")}}, "test")
    assert ensure_datasets_tree(config, catalogue).changed
    tree = tmp_path / "prefix/share/datasets"
    fetched = tree / "demo" / "fetched.csv"
    fetched.write_text("a\n1\n")
    assert not ensure_datasets_tree(config, catalogue).changed
    assert fetched.exists()
    assert stat.S_IMODE((tree / "demo").stat().st_mode) == 0o755


def test_state_dir_is_private_and_secrets_are_generated_once(tmp_path):
    paths = StatePaths(tmp_path / "state")
    assert ensure_state_dir(paths)
    assert stat.S_IMODE(paths.root.stat().st_mode) == 0o700
    assert ensure_secrets(paths)
    first = read_secrets(paths)
    cookie = paths.cookie_secret.read_text()
    assert not ensure_secrets(paths)
    assert read_secrets(paths) == first
    assert paths.cookie_secret.read_text() == cookie
    for path in (paths.secrets, paths.cookie_secret):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    paths.root.chmod(0o755)
    assert ensure_state_dir(paths)
    assert stat.S_IMODE(paths.root.stat().st_mode) == 0o700
