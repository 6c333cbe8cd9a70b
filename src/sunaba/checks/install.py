"""The learner-side `sunaba` under the runtime prefix, for an editable (checkout) install.

Learners' kernels run the prefix's venv inside a sandbox that does not show the checkout, so
`from sunaba.checks import check, hint` (and `from sunaba.datasets import load`, which the
course notebooks use) need a copy of those modules there. They import only the standard
library, pandas, pyarrow and PyYAML. A `.pth` file puts the copy on the venv's path. Its name
sorts after the editable install's, so wherever the checkout is visible (the hub) the
checkout's `sunaba` comes first; in a sandbox that path does not exist and Python skips it.
With a regular (non-editable) install `sunaba` is in site-packages, which comes before any
`.pth` entry, and the copy is never used.

The check service installs the copy when it starts, so the copy always matches the service.
"""

from __future__ import annotations

import os
from pathlib import Path

from sunaba.config.schema import SiteConfig

PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # src/sunaba
CLIENT_MODULES = (
    "checks/__init__.py",
    "checks/wire.py",
    "checks/judge.py",
    "checks/grader.py",
    "checks/autograde.py",
)
# Whole packages learners' notebooks import.
CLIENT_PACKAGES = ("datasets",)
TOP_LEVEL = b'"""Sunaba, as seen from learners\' kernels: the modules they import."""\n'


def client_dir(config: SiteConfig) -> Path:
    return Path(config.hub.prefix) / "lib" / "sunaba-learner"


def _write_if_changed(path: Path, data: bytes) -> bool:
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.chmod(0o644)
    os.replace(tmp, path)
    return True


def ensure_learner_client(config: SiteConfig) -> list[str]:
    """Copy the client under the prefix and point the venv at it; return what changed."""
    root = client_dir(config)
    changed = []
    files = {root / "sunaba" / "__init__.py": TOP_LEVEL}
    modules = list(CLIENT_MODULES)
    for package in CLIENT_PACKAGES:
        modules += [str(p.relative_to(PACKAGE_ROOT)) for p in (PACKAGE_ROOT / package).glob("*.py")]
    for module in modules:
        files[root / "sunaba" / module] = (PACKAGE_ROOT / module).read_bytes()
    for site in sorted((Path(config.hub.prefix) / "venv" / "lib").glob("python3*/site-packages")):
        files[site / "sunaba-learner.pth"] = f"{root}\n".encode()
    for path, data in files.items():
        if _write_if_changed(path, data):
            changed.append(str(path))
    return changed
