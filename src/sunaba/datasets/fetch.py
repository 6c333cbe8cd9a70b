"""`sunaba datasets fetch`: download remote resources, verify them, never leave a broken file.

Each file is streamed into a temporary file in the target directory while its SHA-256 is
computed; only when the size and the checksum match the catalogue is it renamed over the old
copy (`os.replace`, atomic on one filesystem). Anything else — a refused connection, an HTTP
error, a download cut short, a checksum mismatch — removes the temporary file and keeps the
last good copy. With a mirror (a local directory laid out as `<dataset>/<path>`), files are
read from there instead of the network.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sunaba.core.files import write_atomic
from sunaba.datasets.catalogue import PACKAGE_FILE, Catalogue, Dataset, Resource
from sunaba.datasets.errors import FetchError
from sunaba.progress import Progress

_STATUS_JA = {"updated": "取得しました", "unchanged": "最新のままです", "failed": "失敗しました"}
CHUNK = 1 << 16
TIMEOUT = 60
USER_AGENT = "sunaba-datasets/0.1"
FILE_MODE = 0o644
DIR_MODE = 0o755


@dataclass(frozen=True)
class FetchResult:
    dataset: str
    resource: str
    path: Path
    status: str  # "updated", "unchanged" or "failed"
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status != "failed"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _is_current(path: Path, resource: Resource) -> bool:
    try:
        return path.stat().st_size == resource.bytes and sha256_of(path) == resource.sha256
    except FileNotFoundError:
        return False


def _ensure_dir(directory: Path) -> None:
    missing = []
    current = directory
    while not current.exists():
        missing.append(current)
        current = current.parent
    for item in reversed(missing):
        item.mkdir(mode=DIR_MODE)
        item.chmod(DIR_MODE)  # readable by learners whatever the umask


def _open_source(
    resource: Resource, dataset: Dataset, mirror: Path | None
) -> tuple[BinaryIO, int | None, str]:
    """A stream of the file, the size announced by the source (if any) and where it comes from."""
    if mirror is not None:
        source = mirror / dataset.name / resource.path
        try:
            handle = source.open("rb")
        except FileNotFoundError:
            raise FetchError(f"ミラーにファイルがありません: {source}") from None
        except OSError as exc:
            raise FetchError(f"ミラーのファイルを開けません: {source}（{exc.strerror}）") from None
        return handle, source.stat().st_size, str(source)
    assert resource.url is not None
    request = urllib.request.Request(resource.url, headers={"User-Agent": USER_AGENT})  # noqa: S310 - catalogue URLs are checked to be http(s)
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT)  # noqa: S310
    except urllib.error.HTTPError as exc:
        raise FetchError(
            f"サーバーがエラーを返しました: HTTP {exc.code} {exc.reason}（{resource.url}）"
        ) from None
    except urllib.error.URLError as exc:
        raise FetchError(f"接続できません: {exc.reason}（{resource.url}）") from None
    except (TimeoutError, OSError) as exc:
        raise FetchError(f"接続できません: {exc}（{resource.url}）") from None
    length = response.headers.get("Content-Length")
    announced = int(length) if length and length.isdigit() else None
    return response, announced, resource.url


def _download(handle: BinaryIO, target_dir: Path, name: str) -> tuple[Path, int, str]:
    """Stream into a temporary file beside the target; return it with its size and SHA-256."""
    digest = hashlib.sha256()
    size = 0
    fd, temp_name = tempfile.mkstemp(dir=target_dir, prefix=f".{name}.", suffix=".part")
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                try:
                    chunk = handle.read(CHUNK)
                except (OSError, TimeoutError) as exc:
                    raise FetchError(
                        f"受信中に接続が切れました（{size:,} バイト受信後: {exc}）"
                    ) from None
                except Exception as exc:  # http.client.IncompleteRead and friends
                    raise FetchError(
                        f"受信中に接続が切れました（{size:,} バイト受信後: {type(exc).__name__}）"
                    ) from None
                if not chunk:
                    break
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp, size, digest.hexdigest()


def fetch_resource(
    dataset: Dataset, resource: Resource, target_root: Path, *, mirror: Path | None = None
) -> FetchResult:
    target = target_root / dataset.name / resource.path
    if _is_current(target, resource):
        return FetchResult(dataset.name, resource.name, target, "unchanged", "最新です")
    kept = "前回の正しいファイルはそのまま残しています。" if target.exists() else ""
    try:
        _ensure_dir(target.parent)
    except OSError as exc:
        return FetchResult(
            dataset.name,
            resource.name,
            target,
            "failed",
            f"保存先を作れません: {target.parent}（{exc.strerror}）",
        )
    temp: Path | None = None
    try:
        handle, announced, origin = _open_source(resource, dataset, mirror)
        with handle:
            temp, size, digest = _download(handle, target.parent, target.name)
        if announced is not None and size < announced:
            raise FetchError(f"ダウンロードが途中で切れました（{size:,} / {announced:,} バイト）")
        if size != resource.bytes:
            raise FetchError(
                f"大きさがカタログと違います（{size:,} バイト、カタログでは {resource.bytes:,} バイト）。"
                "ダウンロードが途中で切れたか、元のデータが更新された可能性があります"
            )
        if digest != resource.sha256:
            raise FetchError(
                f"SHA-256 がカタログと一致しません（受信 {digest[:12]}…、カタログ {resource.sha256[:12]}…）。"
                "元のデータが更新された可能性があります"
            )
        temp.chmod(FILE_MODE)
        os.replace(temp, target)
        temp = None
    except FetchError as exc:
        return FetchResult(dataset.name, resource.name, target, "failed", f"{exc.message}。{kept}")
    except OSError as exc:
        return FetchResult(
            dataset.name,
            resource.name,
            target,
            "failed",
            f"保存できません: {exc.strerror}（{target}）。{kept}",
        )
    finally:
        if temp is not None:
            temp.unlink(missing_ok=True)
    return FetchResult(dataset.name, resource.name, target, "updated", f"取得しました（{origin}）")


def _copy_package(dataset: Dataset, target_root: Path) -> None:
    """Put the datapackage.yaml (and schema files) beside the fetched files, atomically."""
    destination = target_root / dataset.name
    if destination.resolve() == dataset.directory.resolve():
        return
    files = [PACKAGE_FILE]
    for raw in dataset.descriptor.get("resources", []):
        if isinstance(raw.get("schema"), str):
            files.append(raw["schema"])
    for relative in dict.fromkeys(files):
        source = dataset.directory / relative
        target = destination / relative
        _ensure_dir(target.parent)
        # Small files (the descriptor and its schemas): read whole, written atomically.
        write_atomic(target, source.read_bytes(), mode=FILE_MODE)


def remote_count(catalogue: Catalogue, names: list[str] | None) -> int:
    datasets = [catalogue.get(name) for name in names] if names else catalogue.datasets()[0]
    return sum(1 for dataset in datasets for item in dataset.resources if item.remote)


def fetch(
    catalogue: Catalogue,
    target_root: Path,
    names: list[str] | None = None,
    *,
    mirror: Path | None = None,
    progress: Progress | None = None,
) -> list[FetchResult]:
    """Fetch every remote resource of the named datasets (all datasets when None); each file
    is reported to `progress` (total: the number of remote files) as it is done."""
    if mirror is not None and not mirror.is_dir():
        raise FetchError(f"ミラーのフォルダがありません: {mirror}")
    try:
        _ensure_dir(target_root)
    except OSError as exc:
        raise FetchError(f"保存先を作れません: {target_root}（{exc.strerror}）") from None
    datasets = [catalogue.get(name) for name in names] if names else catalogue.datasets()[0]
    results: list[FetchResult] = []
    for dataset in datasets:
        remote = [item for item in dataset.resources if item.remote]
        if not remote:
            continue
        for resource in remote:
            item = f"{dataset.name}/{resource.path}"
            if progress:
                progress.start(item)
            results.append(fetch_resource(dataset, resource, target_root, mirror=mirror))
            if progress:
                progress.done(item, _STATUS_JA[results[-1].status])
        try:
            _copy_package(dataset, target_root)
        except OSError as exc:
            results.append(
                FetchResult(
                    dataset.name,
                    PACKAGE_FILE,
                    target_root / dataset.name,
                    "failed",
                    f"カタログを写せません: {exc}",
                )
            )
    return results
