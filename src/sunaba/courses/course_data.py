"""The open data the synced courses need: which datasets are missing, and fetching them on
`sunaba up`.

A catalogue dataset is present when every one of its remote files is in the public datasets
tree (`{prefix}/share/datasets`, what learners' sandboxes read). `sunaba up` fetches the
missing ones, from `datasets.mirror` when it is set, else from their public source URLs; a
machine that cannot fetch still starts, and says which datasets are missing and the command
that fetches them later. The course pages say the same to learners and instructors.
"""

from __future__ import annotations

import os
import socket
import urllib.parse
from collections.abc import Callable, Iterable
from pathlib import Path

from sunaba.config.schema import SiteConfig
from sunaba.core.state import public_datasets_dir
from sunaba.courses.model import CourseError, load_course_file
from sunaba.datasets.catalogue import Catalogue
from sunaba.datasets.errors import DatasetError
from sunaba.datasets.fetch import fetch

FETCH_COMMAND = "sunaba datasets fetch {name}"
# Set by `make up`: download from the public sources. Without it (a bare `sunaba up`, the test
# hubs), `up` only reads a configured mirror and otherwise reports what is missing.
DOWNLOAD_ENV = "SUNABA_FETCH_COURSE_DATA"
PROBE_SECONDS = 5


def fetch_command(name: str) -> str:
    return FETCH_COMMAND.format(name=name)


def course_datasets(courses: Path) -> dict[str, list[str]]:
    """{dataset: [course ids]} for every course file under `courses` that reads cleanly."""
    needed: dict[str, list[str]] = {}
    for path in sorted(courses.glob("*/course.yaml")):
        try:
            course = load_course_file(path)
        except CourseError:
            continue  # the sync reports broken course files
        for name in course.datasets:
            needed.setdefault(name, []).append(course.id)
    return needed


def is_present(catalogue: Catalogue, name: str) -> bool:
    try:
        dataset = catalogue.get(name)
    except DatasetError:
        return False
    return all(
        catalogue.find_file(dataset, resource) is not None
        for resource in dataset.resources
        if resource.remote
    )


def missing_datasets(config: SiteConfig, names: Iterable[str]) -> list[str]:
    """The datasets among `names` whose files are not in the public datasets tree."""
    names = list(dict.fromkeys(names))
    if not names:
        return []
    catalogue = Catalogue([public_datasets_dir(config)])
    return [name for name in names if not is_present(catalogue, name)]


def _fetch_one(catalogue: Catalogue, target: Path, name: str, mirror: Path | None) -> str:
    """Fetch one dataset; '' when it is now complete, else why not (Japanese)."""
    try:
        results = fetch(catalogue, target, [name], mirror=mirror)
    except DatasetError as exc:
        return exc.message
    failed = [r for r in results if not r.ok]
    return "、".join(f"{r.resource}: {r.message}" for r in failed)


def reachable(catalogue: Catalogue, name: str, seconds: float = PROBE_SECONDS) -> bool:
    """Whether the host of the dataset's first remote file answers within `seconds` (so that
    an offline machine does not wait for each download's own time limit)."""
    try:
        url = next(r.url for r in catalogue.get(name).resources if r.remote and r.url)
    except (DatasetError, StopIteration):
        return False
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=seconds).close()
    except OSError:
        return False
    return True


def fetch_course_data(
    config: SiteConfig,
    courses: Path,
    log: Callable[[str], None] = print,
    *,
    download: bool | None = None,
) -> list[str]:
    """Fetch every dataset the courses need and is missing (from the mirror when one is set;
    from the public sources only with `download`, by default when DOWNLOAD_ENV is 1); never
    raises for a failed fetch. Returns the datasets still missing."""
    needed = course_datasets(courses)
    if not needed:
        return []
    target = public_datasets_dir(config)
    catalogue = Catalogue([target])
    mirror = Path(config.datasets.mirror) if config.datasets.mirror else None
    if download is None:
        download = os.environ.get(DOWNLOAD_ENV) == "1"
    origin = f"ミラー {mirror}" if mirror else "公開元"
    skipped = "" if mirror or download else NOT_DOWNLOADING
    missing = []
    for name in sorted(needed):
        if is_present(catalogue, name):
            log(f"  データセット {name}: 取得済みです")
            continue
        if not skipped and mirror is None and not reachable(catalogue, name):
            log(f"  データセット {name}: 公開元に接続できません")
            skipped = OFFLINE
        if skipped:
            missing.append(name)
            continue
        problem = _fetch_one(catalogue, target, name, mirror)
        if problem or not is_present(catalogue, name):
            log(f"  データセット {name}: {origin}から取得できませんでした（{problem or '不完全'}）")
            missing.append(name)
        else:
            log(f"  データセット {name}: {origin}から取得しました")
    if missing:
        log(missing_report(missing, needed, skipped))
    return missing


NOT_DOWNLOADING = "（sunaba up だけでは公開元から取得しません。make up で起動すると取得します）"
OFFLINE = "（公開元に接続できないため、取得は試していません）"


def missing_report(missing: list[str], needed: dict[str, list[str]], skipped: str = "") -> str:
    lines = [
        f"取得できていないデータセットが {len(missing)} 件あります。"
        "このまま起動しますが、これを使う課題はデータを読み込むところで止まります:"
    ]
    for name in missing:
        courses = "、".join(needed.get(name, []))
        lines.append(f"  {name}（コース: {courses}）  →  {fetch_command(name)}")
    if skipped:
        lines.append(f"  {skipped}")
    lines.append(
        "ネットワークにつながる状態で上のコマンドを実行するか、ミラーのフォルダを指定して"
        "「make up DATASETS_MIRROR=/path/to/mirror」で起動し直してください。"
    )
    return "\n".join(lines)
