"""The real download code against a local HTTP server that serves the mirror, and the mirror path."""

from __future__ import annotations

import socket
import stat
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from sunaba.datasets import FetchError, load
from sunaba.datasets.catalogue import PACKAGE_FILE, Catalogue
from sunaba.datasets.fetch import fetch
from tests.unit.datasets.paths import CATALOGUE_DIR

NAME = "takamatsu-city-tax"
FILE = "city_tax_settlement_status.csv"


class MirrorHandler(BaseHTTPRequestHandler):
    """/<mode>/<dataset>/<path>: ok, truncate, corrupt, short or missing."""

    mirror: Path

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        _, mode, rest = self.path.split("/", 2)
        source = self.mirror / rest
        if mode == "missing" or not source.is_file():
            self.send_error(404, "Not Found")
            return
        data = source.read_bytes()
        body = data
        if mode == "corrupt":
            body = data[:-2] + b"9\n"
        elif mode == "short":
            body = data[: len(data) // 2]
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(data) if mode == "truncate" else len(body)))
        self.end_headers()
        if mode == "truncate":
            self.wfile.write(data[: len(data) // 3])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server(mirror):
    handler = type("Handler", (MirrorHandler,), {"mirror": mirror})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def catalogue_for(root: Path, base_url: str, mode: str) -> Catalogue:
    """A copy of the city-tax entry whose URL points at the local server."""
    folder = root / f"catalogue-{mode}" / NAME
    folder.mkdir(parents=True)
    package = yaml.safe_load((CATALOGUE_DIR / NAME / PACKAGE_FILE).read_text(encoding="utf-8"))
    package["resources"][0]["url"] = f"{base_url}/{mode}/{NAME}/{FILE}"
    (folder / PACKAGE_FILE).write_text(
        yaml.safe_dump(package, allow_unicode=True), encoding="utf-8"
    )
    return Catalogue([folder.parent])


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name not in (FILE, PACKAGE_FILE))


def test_download_verify_and_skip_when_current(tmp_path, server, mirror):
    cache = tmp_path / "cache"
    catalogue = catalogue_for(tmp_path, server, "ok")
    [result] = fetch(catalogue, cache, [NAME])
    assert result.status == "updated", result.message
    target = cache / NAME / FILE
    assert target.read_bytes() == (mirror / NAME / FILE).read_bytes()
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert stat.S_IMODE((cache / NAME).stat().st_mode) == 0o755
    assert (cache / NAME / PACKAGE_FILE).is_file()  # the cache is a self-contained catalogue
    assert leftovers(cache / NAME) == []
    [again] = fetch(catalogue, cache, [NAME])
    assert again.status == "unchanged"
    assert len(load(NAME, catalogue=Catalogue([cache]))) == 21


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        ("truncate", "途中で切れました"),
        ("corrupt", "SHA-256 がカタログと一致しません"),
        ("short", "大きさがカタログと違います"),
        ("missing", "HTTP 404"),
    ],
)
def test_failure_keeps_the_last_good_copy(tmp_path, server, mode, words):
    cache = tmp_path / "cache"
    [good] = fetch(catalogue_for(tmp_path, server, "ok"), cache, [NAME])
    assert good.status == "updated"
    target = cache / NAME / FILE
    before = target.read_bytes()
    [result] = fetch(catalogue_for(tmp_path, server, mode), cache, [NAME])
    assert result.status == "unchanged"  # the good copy is current: nothing is downloaded
    target.write_bytes(before[:-1] + b"X")  # now make the local copy stale
    stale = target.read_bytes()
    [result] = fetch(catalogue_for(tmp_path / "again", server, mode), cache, [NAME])
    assert result.status == "failed"
    assert (
        words in result.message and "前回の正しいファイルはそのまま残しています" in result.message
    )
    assert target.read_bytes() == stale  # never replaced by a broken download
    assert leftovers(cache / NAME) == []


def test_failed_first_download_leaves_no_file(tmp_path, server):
    cache = tmp_path / "cache"
    [result] = fetch(catalogue_for(tmp_path, server, "truncate"), cache, [NAME])
    assert result.status == "failed" and "途中で切れました" in result.message
    assert not (cache / NAME / FILE).exists()
    assert leftovers(cache / NAME) == []


def test_connection_refused(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    [result] = fetch(
        catalogue_for(tmp_path, f"http://127.0.0.1:{port}", "ok"), tmp_path / "cache", [NAME]
    )
    assert result.status == "failed" and "接続できません" in result.message


def test_mirror(tmp_path, mirror):
    cache = tmp_path / "cache"
    [result] = fetch(Catalogue([CATALOGUE_DIR]), cache, [NAME], mirror=mirror)
    assert result.status == "updated"
    assert (cache / NAME / FILE).read_bytes() == (mirror / NAME / FILE).read_bytes()


def test_mirror_without_the_file(tmp_path):
    (tmp_path / "mirror").mkdir()
    [result] = fetch(
        Catalogue([CATALOGUE_DIR]), tmp_path / "cache", [NAME], mirror=tmp_path / "mirror"
    )
    assert result.status == "failed" and "ミラーにファイルがありません" in result.message


def test_missing_mirror_dir_is_an_error(tmp_path):
    with pytest.raises(FetchError, match="ミラーのフォルダがありません"):
        fetch(Catalogue([CATALOGUE_DIR]), tmp_path / "cache", [NAME], mirror=tmp_path / "nope")


def test_bundled_datasets_need_no_fetch(tmp_path):
    assert fetch(Catalogue([CATALOGUE_DIR]), tmp_path / "cache", ["census-2020-prefectures"]) == []
