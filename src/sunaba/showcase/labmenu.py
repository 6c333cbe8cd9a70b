"""The 「ショーケース」 menu in every learner's JupyterLab, without building a lab extension.

JupyterLab reads `overrides.d/*.json` in its settings folder as defaults for every user. One
file there adds a top-level menu whose items use JupyterLab's own `help:open` command to open the
showcase's pages in a new tab: 「ノートブックを公開…」 (the publish form, listing the learner's
notebooks) and 「ショーケースを見る」 (the gallery).
"""

from __future__ import annotations

import json
from pathlib import Path

from sunaba.core.files import write_atomic
from sunaba.showcase.paths import ShowcasePaths

MENU_ID = "jp-mainmenu-sunaba-showcase"


def lab_menu(hub_base_url: str) -> dict:
    base = hub_base_url.rstrip("/") + "/services/showcase/"
    return {
        "@jupyterlab/mainmenu-extension:plugin": {
            "menus": [
                {
                    "id": MENU_ID,
                    "label": "ショーケース",
                    "rank": 90,
                    "items": [
                        {
                            "command": "help:open",
                            "args": {
                                "url": base + "publish",
                                "text": "ノートブックを公開…",
                                "newBrowserTab": True,
                            },
                            "rank": 1,
                        },
                        {
                            "command": "help:open",
                            "args": {
                                "url": base,
                                "text": "ショーケースを見る",
                                "newBrowserTab": True,
                            },
                            "rank": 2,
                        },
                    ],
                }
            ]
        }
    }


def ensure_lab_menu(paths: ShowcasePaths, hub_base_url: str) -> bool:
    """Write the menu file if it differs; return whether it changed."""
    target: Path = paths.lab_menu_file
    text = json.dumps(lab_menu(hub_base_url), indent=2, ensure_ascii=False) + "\n"
    if target.is_file() and target.read_text(encoding="utf-8") == text:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    target.parent.chmod(0o755)
    write_atomic(target, text, mode=0o644)
    return True
