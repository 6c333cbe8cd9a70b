"""The 「ショーケース」 menu that JupyterLab picks up from overrides.d."""

from __future__ import annotations

import json
import stat

from sunaba.config.loader import validate
from sunaba.showcase.labmenu import MENU_ID, ensure_lab_menu, lab_menu
from sunaba.showcase.paths import ShowcasePaths


def test_menu_opens_the_publish_page_and_the_gallery_in_new_tabs():
    menu = lab_menu("/jhub/")["@jupyterlab/mainmenu-extension:plugin"]["menus"][0]
    assert menu["id"] == MENU_ID and menu["label"] == "ショーケース"
    urls = [item["args"]["url"] for item in menu["items"]]
    assert urls == ["/jhub/services/showcase/publish", "/jhub/services/showcase/"]
    assert all(item["command"] == "help:open" for item in menu["items"])
    assert all(item["args"]["newBrowserTab"] for item in menu["items"])


def test_the_file_is_written_once_and_readable_by_every_learner(tmp_path):
    config = validate({"hub": {"prefix": str(tmp_path), "state_dir": str(tmp_path / "s")}}, "t")
    paths = ShowcasePaths.from_config(config)
    assert ensure_lab_menu(paths, "/") is True
    assert ensure_lab_menu(paths, "/") is False
    target = paths.lab_menu_file
    assert target.parent.name == "overrides.d"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert json.loads(target.read_text()) == lab_menu("/")
