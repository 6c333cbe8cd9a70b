"""Idempotent install steps. Each `ensure_*` returns early when its thing is already in place
and reports whether it changed anything, so running `sunaba up` twice is safe and quick."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sunaba.config.schema import SiteConfig
from sunaba.core.files import write_if_changed
from sunaba.core.state import public_datasets_dir
from sunaba.messages import Text, localized, say

# Debian package -> command that proves it is there (None: ask dpkg). Node may come from
# another source than Debian; any working `npm` will do.
DEBIAN_PACKAGES: dict[str, str | None] = {
    "bubblewrap": "bwrap",
    "chromium": "chromium",  # showcase thumbnails
    "fonts-ipafont-gothic": None,
    "fonts-ipaexfont-gothic": None,
    "nftables": "nft",  # learners' network policy
    "npm": "npm",
    "python3-venv": None,
}

NODE_PROXY = Text("Node のプロキシ", "node proxy")
DATASETS = Text("データセット", "datasets")
JAPANESE_FONTS = ["IPAexGothic", "IPAGothic", "Noto Sans CJK JP", "DejaVu Sans"]


@dataclass(frozen=True)
class StepResult:
    name: str | Text
    changed: bool
    detail: str | Text = ""


def step_line(result: StepResult, where) -> str:
    """One step as the admin reads it, in the site's language (`where`: a config or a code)."""
    mark = (
        say(where, ja="変更しました", en="changed")
        if result.changed
        else say(where, ja="変更なし    ", en="ok     ")
    )
    return f"  {mark} {localized(where, result.name)}: {localized(where, result.detail)}"


def _stamp_matches(stamp: Path, digest: str) -> bool:
    return stamp.is_file() and stamp.read_text().strip() == digest


def _digest(*paths: Path) -> str:
    sha = hashlib.sha256()
    for path in paths:
        sha.update(path.read_bytes())
    return sha.hexdigest()


def ensure_debian_packages(packages=DEBIAN_PACKAGES) -> StepResult:
    if os.geteuid() != 0 or shutil.which("dpkg-query") is None:
        return StepResult(
            Text("Debian パッケージ", "debian packages"),
            False,
            Text(
                "省略しました（root でないか Debian ではありません）",
                "skipped (not root or not Debian)",
            ),
        )
    missing = []
    for package, command in packages.items():
        if command is not None:
            if shutil.which(command) is None:
                missing.append(package)
            continue
        result = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True
        )
        if "install ok installed" not in result.stdout:
            missing.append(package)
    if not missing:
        return StepResult(
            Text("Debian パッケージ", "debian packages"),
            False,
            Text("すべてあります", "all present"),
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)
    names = " ".join(missing)
    return StepResult(
        Text("Debian パッケージ", "debian packages"),
        True,
        Text(f"インストールしました: {names}", f"installed {names}"),
    )


def ensure_prefix(prefix: Path) -> StepResult:
    changed = not prefix.exists()
    prefix.mkdir(parents=True, exist_ok=True)
    prefix.chmod(0o755)
    return StepResult(Text("実行環境の置き場所", "runtime prefix"), changed, str(prefix))


def ensure_node_proxy(prefix: Path, source: Path) -> StepResult:
    """configurable-http-proxy, pinned by package-lock.json, installed with `npm ci`."""
    target = prefix / "proxy"
    lock = source / "package-lock.json"
    digest = _digest(source / "package.json", lock)
    stamp = target / ".installed"
    binary = target / "node_modules" / ".bin" / "configurable-http-proxy"
    if _stamp_matches(stamp, digest) and binary.exists():
        return StepResult(NODE_PROXY, False, str(binary))
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / "package.json", target / "package.json")
    shutil.copy2(lock, target / "package-lock.json")
    subprocess.run(
        ["npm", "ci", "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=target,
        check=True,
    )
    stamp.write_text(digest)
    return StepResult(NODE_PROXY, True, str(binary))


def lab_overrides(language: str) -> dict:
    """JupyterLab settings every learner starts from: locale, and nothing that calls home."""
    return {
        "@jupyterlab/translation-extension:plugin": {
            "locale": "ja_JP" if language == "ja" else "en"
        },
        "@jupyterlab/apputils-extension:notification": {
            "checkForUpdates": False,
            "fetchNews": "false",
        },
        "@jupyterlab/extensionmanager-extension:plugin": {"enabled": False},
    }


def _write_if_changed(path: Path, text: str) -> bool:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_if_changed(path, text, mode=0o644)


def ensure_lab_settings(prefix: Path, language: str) -> StepResult:
    path = prefix / "venv" / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    text = json.dumps(lab_overrides(language), indent=2, ensure_ascii=False) + "\n"
    return StepResult(
        Text("JupyterLab の設定", "jupyterlab settings"), _write_if_changed(path, text), str(path)
    )


def ensure_matplotlibrc(prefix: Path) -> StepResult:
    path = prefix / "etc" / "matplotlibrc"
    text = (
        "# Japanese labels render without tofu: fonts from Debian's fonts-ipa* packages.\n"
        "font.family: sans-serif\n"
        f"font.sans-serif: {', '.join(JAPANESE_FONTS)}\n"
        "axes.unicode_minus: False\n"
    )
    return StepResult(
        Text("matplotlib のフォント", "matplotlib fonts"), _write_if_changed(path, text), str(path)
    )


def ensure_datasets_tree(config: SiteConfig, source: Path) -> StepResult:
    """Copy the catalogue into the learner-readable tree; fetched files there are kept."""
    target = public_datasets_dir(config)
    catalogue = Path(config.datasets.catalogue) if config.datasets.catalogue else source
    if not catalogue.is_dir():
        return StepResult(
            DATASETS,
            False,
            Text(f"カタログがありません: {catalogue}", f"no catalogue at {catalogue}"),
        )
    changed = not target.exists()
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(catalogue.rglob("*")):
        if path.is_dir() or "__pycache__" in path.parts:
            continue
        dest = target / path.relative_to(catalogue)
        if dest.exists() and dest.read_bytes() == path.read_bytes():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
        dest.chmod(0o644)
        changed = True
    for directory in [target, *[p for p in target.rglob("*") if p.is_dir()]]:
        directory.chmod(0o755)
    return StepResult(DATASETS, changed, str(target))


def runtime_steps(config: SiteConfig, source: Path) -> list[Callable[[], StepResult]]:
    prefix = Path(config.hub.prefix)
    return [
        ensure_debian_packages,
        lambda: ensure_prefix(prefix),
        lambda: ensure_node_proxy(prefix, source),
        lambda: ensure_lab_settings(prefix, config.site.language),
        lambda: ensure_matplotlibrc(prefix),
        lambda: ensure_datasets_tree(config, source / "datasets"),
    ]


def ensure_runtime(config: SiteConfig, source: Path, log=print) -> list[StepResult]:
    results = []
    for step in runtime_steps(config, source):
        result = step()
        log(step_line(result, config))
        results.append(result)
    return results
