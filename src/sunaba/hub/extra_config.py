"""The escape hatch for JupyterHub settings the site config does not cover.

Every `*.py` file in `hub_config/jupyterhub_config.d/` (or `hub.extra_config_dir`) runs after
Sunaba has applied the site config, in name order, with the hub's `c` in scope, as The Littlest
JupyterHub's folder of the same name does. A file that others could change would run as the
hub's own user, so one that is writable by anyone but its owner, or owned by someone other than
the hub's user or root, is refused.
"""

from __future__ import annotations

import os
from pathlib import Path

from sunaba.config.schema import SiteConfig

FOLDER = "jupyterhub_config.d"


class ExtraConfigError(RuntimeError):
    pass


def extra_config_dir(config: SiteConfig, hub_config_dir: Path) -> Path:
    return Path(config.hub.extra_config_dir or hub_config_dir / FOLDER)


def _check_owner(path: Path) -> None:
    info = path.stat()
    if info.st_uid not in (0, os.geteuid()):
        raise ExtraConfigError(f"{path}: owned by uid {info.st_uid}, not by root or the hub")
    if info.st_mode & 0o022:
        raise ExtraConfigError(f"{path}: writable by group or others; chmod go-w it")


def load_extra_config(c, config: SiteConfig, hub_config_dir: Path) -> list[Path]:
    """Run the folder's files against `c`; returns the files run."""
    folder = extra_config_dir(config, hub_config_dir)
    if not folder.is_dir():
        return []
    files = sorted(p for p in folder.glob("*.py") if p.is_file())
    for path in files:
        _check_owner(path)
        code = compile(path.read_text(encoding="utf-8"), str(path), "exec")
        exec(code, {"c": c, "get_config": lambda: c, "__file__": str(path)})  # noqa: S102
    return files
