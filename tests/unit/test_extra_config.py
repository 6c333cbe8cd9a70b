"""Raw JupyterHub settings from jupyterhub_config.d/, after the site config, never from a file
someone else could have changed."""

from __future__ import annotations

import os

import pytest
from traitlets.config import Config

from sunaba.hub.extra_config import ExtraConfigError, load_extra_config
from tests.support.config import unit_config


def hub_config_dir(tmp_path, files: dict[str, str]):
    folder = tmp_path / "hub_config" / "jupyterhub_config.d"
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text)
        (folder / name).chmod(0o644)
    return folder.parent


def test_files_run_in_name_order_after_the_site_config(tmp_path):
    hub_config = hub_config_dir(
        tmp_path,
        {
            "20-later.py": "c.JupyterHub.shutdown_on_logout = False\n",
            "10-first.py": "c.JupyterHub.shutdown_on_logout = True\nc.Spawner.mem_limit = '2G'\n",
            "notes.txt": "c.JupyterHub.this_is_not_python = 1\n",
        },
    )
    c = Config()
    c.JupyterHub.shutdown_on_logout = True
    ran = load_extra_config(c, unit_config(), hub_config)
    assert [p.name for p in ran] == ["10-first.py", "20-later.py"]
    assert c.JupyterHub.shutdown_on_logout is False and c.Spawner.mem_limit == "2G"
    assert "this_is_not_python" not in c.JupyterHub


def test_no_folder_changes_nothing(tmp_path):
    c = Config()
    assert load_extra_config(c, unit_config(), tmp_path / "hub_config") == []
    assert c == Config()


def test_a_file_others_may_write_is_refused_before_anything_runs(tmp_path):
    hub_config = hub_config_dir(tmp_path, {"10-open.py": "c.JupyterHub.admin_access = True\n"})
    (hub_config / "jupyterhub_config.d" / "10-open.py").chmod(0o666)
    c = Config()
    with pytest.raises(ExtraConfigError, match="10-open.py: writable by group or others"):
        load_extra_config(c, unit_config(), hub_config)
    assert "admin_access" not in c.JupyterHub


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_a_file_owned_by_another_user_is_refused(tmp_path):
    hub_config = hub_config_dir(tmp_path, {"10-theirs.py": "c.JupyterHub.admin_access = True\n"})
    os.chown(hub_config / "jupyterhub_config.d" / "10-theirs.py", 65534, 65534)
    with pytest.raises(ExtraConfigError, match="owned by uid 65534"):
        load_extra_config(Config(), unit_config(), hub_config)


def test_another_folder_from_the_site_config(tmp_path):
    elsewhere = tmp_path / "etc-sunaba"
    elsewhere.mkdir()
    (elsewhere / "x.py").write_text("c.JupyterHub.shutdown_on_logout = True\n")
    c = Config()
    load_extra_config(c, unit_config({"hub": {"extra_config_dir": str(elsewhere)}}), tmp_path)
    assert c.JupyterHub.shutdown_on_logout is True
