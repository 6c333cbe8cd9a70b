"""Files under the runtime prefix that make nbgrader in learners' servers use the exchange.

Learners' servers run the prefix's venv inside a sandbox that shows neither the checkout nor the
state dir, so what their nbgrader needs is copied under the prefix:

- `lib/sunaba-portable/sunaba_portable/...`: a copy of the few modules that run outside the hub
  (the exchange plugin, the grading worker), which import only nbgrader, the standard library
  and each other (relatively). The venv finds them through a `.pth` file. They get their own
  top-level name because a learner's server may be forked from a process that has already
  imported `sunaba` from the checkout, which the sandbox does not show.
- `venv/etc/jupyter/nbgrader_config.json`: select the plugin classes.
- `venv/share/jupyter/labextensions/@sunaba/assignment-list/`: JupyterLab's assignment list in
  Japanese, with each assignment's title and due date, built from `labextension/` during
  install into `sunaba/courses/labextension/`; its translations are `sunaba/courses/locale/`.
- `venv/etc/jupyter/jupyter_server_config.d/zz-sunaba-courses.json` and
  `venv/etc/jupyter/labconfig/page_config.json`: no formgrader, course list or assignment
  creator in learners' JupyterLab. Formgraders switch them back on in their own config. The
  server config also loads `sunaba_portable.exchange.lab_open` (マイコース's 「JupyterLab で開く」)
  and `sunaba_portable.labserver.saving` (a full disk: a Japanese message, the file kept).

Nothing here holds a secret or anything course-specific.
"""

from __future__ import annotations

import json
from pathlib import Path

from sunaba.config.problems import Problem, ProblemsError
from sunaba.config.schema import SiteConfig, parse_size
from sunaba.core.files import write_if_changed
from sunaba.exchange.plugin import LEARNER_CLASSES
from sunaba.exchange.plugin_staff import STAFF_CLASSES

PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # src/sunaba
PORTABLE_PACKAGE = "sunaba_portable"
# Modules that run outside the hub process: importable with only nbgrader and the stdlib.
PORTABLE_MODULES = (
    "__init__.py",
    "core/__init__.py",
    "core/archive.py",
    "core/jadate.py",
    "exchange/__init__.py",
    "exchange/client.py",
    "exchange/lab_open.py",
    "exchange/plugin.py",
    "exchange/plugin_staff.py",
    "exchange/stamps.py",
    "grading/__init__.py",
    "grading/nbfilters.py",
    "grading/probes.py",
    "grading/replay.py",
    "grading/worker.py",
    "labserver/__init__.py",
    "labserver/saving.py",
)
LEARNER_HIDDEN_SERVER_EXTENSIONS = (
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.course_list",
)
# 「JupyterLab で開く」 on マイコース: fetch if missing, then open (sunaba.exchange.lab_open).
# Saves that fail for lack of space: a Japanese message, the file kept (sunaba.labserver.saving).
LEARNER_SERVER_EXTENSIONS = (
    "sunaba_portable.exchange.lab_open",
    "sunaba_portable.labserver.saving",
)
LEARNER_HIDDEN_LAB_PLUGINS = (
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:course-list",
    "@jupyter/nbgrader:create-assignment",
)


def _write_if_changed(path: Path, data: bytes, mode: int = 0o644) -> bool:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_if_changed(path, data, mode=mode)


def _json(data: dict) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()


def portable_dir(config: SiteConfig) -> Path:
    return Path(config.hub.prefix) / "lib" / "sunaba-portable"


def portable_name(module: str) -> str:
    """`sunaba.exchange.plugin` -> `sunaba_portable.exchange.plugin`."""
    return PORTABLE_PACKAGE + module.removeprefix("sunaba")


def nbgrader_exchange_config() -> dict:
    """`ExchangeFactory` settings that select the exchange plugin."""
    return {
        "ExchangeFactory": {
            key: f"{portable_name(cls.__module__)}.{cls.__qualname__}"
            for key, cls in {**LEARNER_CLASSES, **STAFF_CLASSES}.items()
        }
    }


def site_packages(config: SiteConfig) -> Path | None:
    found = sorted((Path(config.hub.prefix) / "venv" / "lib").glob("python3*/site-packages"))
    return found[-1] if found else None


def learner_nbgrader_config(config: SiteConfig) -> dict:
    return {
        **nbgrader_exchange_config(),
        # Checked before uploading too, so that a huge folder fails fast with a message.
        "SunabaExchange": {"max_upload_bytes": parse_size(config.courses.max_submission_size)},
        "CourseDirectory": {"course_id": ""},
    }


def formgrader_overrides() -> tuple[dict, dict]:
    """(jupyter_server_config, page_config) a formgrader uses to undo the learner hiding."""
    server = {
        "ServerApp": {
            "jpserver_extensions": dict.fromkeys(LEARNER_HIDDEN_SERVER_EXTENSIONS, True),
            "default_url": "/formgrader",
        }
    }
    page = {"disabledExtensions": dict.fromkeys(LEARNER_HIDDEN_LAB_PLUGINS, False)}
    return server, page


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _merged_page_config(path: Path) -> dict:
    """JupyterLab adds keys of its own to this file (lockedExtensions): keep them."""
    data = _read_json(path) or {}
    disabled = dict(data.get("disabledExtensions") or {})
    disabled.update(dict.fromkeys(LEARNER_HIDDEN_LAB_PLUGINS, True))
    return {**data, "disabledExtensions": disabled}


def ensure_portable_modules(config: SiteConfig) -> list[str]:
    """Copy the portable modules and put them on the venv's path; return what changed."""
    changed: list[str] = []
    target = portable_dir(config) / PORTABLE_PACKAGE
    for relative in PORTABLE_MODULES:
        source = PACKAGE_ROOT / relative
        if _write_if_changed(target / relative, source.read_bytes()):
            changed.append(str(target / relative))
    for folder in [
        portable_dir(config),
        *[p for p in portable_dir(config).rglob("*") if p.is_dir()],
    ]:
        folder.chmod(0o755)
    site = site_packages(config)
    if site is not None:
        pth = site / "sunaba-portable.pth"
        if _write_if_changed(pth, f"{portable_dir(config)}\n".encode()):
            changed.append(str(pth))
    return changed


# Built from labextension/ during install (deploy/local/build-labextension.sh).
LAB_EXTENSION_SOURCE = PACKAGE_ROOT / "courses" / "labextension"
LAB_EXTENSION_NAME = "@sunaba/assignment-list"


def lab_extension_missing() -> ProblemsError:
    return ProblemsError(
        [
            Problem(
                str(LAB_EXTENSION_SOURCE),
                "package.json",
                "学習者用の JupyterLab 拡張機能がビルドされていません。"
                "make install（または deploy/local/build-labextension.sh）を実行してください",
            )
        ]
    )


def ensure_lab_extension(config: SiteConfig) -> list[str]:
    """Install the built assignment-list extension where JupyterLab finds prebuilt extensions;
    files of an earlier build that this one no longer has are removed (their names carry a
    content hash)."""
    if not (LAB_EXTENSION_SOURCE / "package.json").is_file():
        raise lab_extension_missing()
    target = Path(config.hub.prefix) / "venv" / "share" / "jupyter" / "labextensions"
    target = target / LAB_EXTENSION_NAME
    changed = []
    built = {
        target / source.relative_to(LAB_EXTENSION_SOURCE): source
        for source in sorted(LAB_EXTENSION_SOURCE.rglob("*"))
        if source.is_file()
    }
    for destination, source in built.items():
        if _write_if_changed(destination, source.read_bytes()):
            changed.append(str(destination))
    for stale in sorted(p for p in target.rglob("*") if p.is_file() and p not in built):
        stale.unlink()
        changed.append(str(stale))
    for folder in [target.parent, target, *[p for p in target.rglob("*") if p.is_dir()]]:
        folder.chmod(0o755)
    return changed


def ensure_learner_files(config: SiteConfig) -> list[str]:
    """The portable modules, the lab extension and the learners' Jupyter config; return the
    paths that changed."""
    changed = ensure_portable_modules(config) + ensure_lab_extension(config)
    etc = Path(config.hub.prefix) / "venv" / "etc" / "jupyter"
    files = {
        etc / "nbgrader_config.json": learner_nbgrader_config(config),
        etc / "jupyter_server_config.d" / "zz-sunaba-courses.json": {
            "ServerApp": {
                "jpserver_extensions": {
                    **dict.fromkeys(LEARNER_HIDDEN_SERVER_EXTENSIONS, False),
                    **dict.fromkeys(LEARNER_SERVER_EXTENSIONS, True),
                }
            }
        },
        etc / "labconfig" / "page_config.json": _merged_page_config(
            etc / "labconfig" / "page_config.json"
        ),
    }
    for path, data in files.items():
        if _read_json(path) != data and _write_if_changed(path, _json(data)):
            changed.append(str(path))
    return changed
