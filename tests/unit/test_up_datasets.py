"""`sunaba up` fetches the datasets the courses need; offline it reports them and goes on."""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml

from sunaba.config.loader import load_config
from sunaba.config.schema import SiteConfig
from sunaba.core.state import public_datasets_dir
from sunaba.courses.course_data import DOWNLOAD_ENV, fetch_course_data, missing_datasets

DATA = "コード,人数\n1,2\n".encode()
UNREACHABLE = "http://127.0.0.1:9/{name}/counts.csv"  # the discard port: refused at once


def write_dataset(catalogue: Path, name: str, url: str = UNREACHABLE) -> None:
    """A catalogue entry with one remote file, as `sunaba install` copies it to the prefix."""
    folder = catalogue / name
    folder.mkdir(parents=True)
    package = {
        "name": name,
        "title": f"{name} のデータ",
        "title_en": f"{name} data",
        "contributors": [{"title": "テスト市", "role": "publisher"}],
        "licenses": [{"name": "CC-BY-4.0", "title": "CC BY 4.0"}],
        "attribution": "テスト市のデータ",
        "resources": [
            {
                "name": "counts",
                "path": "counts.csv",
                "url": url.format(name=name),
                "format": "csv",
                "encoding": "utf-8",
                "bytes": len(DATA),
                "hash": "sha256:" + hashlib.sha256(DATA).hexdigest(),
                "schema": {
                    "fields": [
                        {"name": "コード", "type": "string"},
                        {"name": "人数", "type": "integer"},
                    ]
                },
            }
        ],
    }
    (folder / "datapackage.yaml").write_text(
        yaml.safe_dump(package, allow_unicode=True), encoding="utf-8"
    )


def write_course(courses: Path, course_id: str, datasets: list[str]) -> None:
    folder = courses / course_id
    folder.mkdir(parents=True)
    data = {
        "id": course_id,
        "title": {"ja": "テストコース"},
        "instructors": ["teach"],
        "datasets": datasets,
        "assignments": [{"id": "hw1", "title": {"ja": "宿題1"}}],
    }
    (folder / "course.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))


def site(
    tmp_path: Path, mirror: Path | None = None, url: str = UNREACHABLE
) -> tuple[SiteConfig, Path]:
    config = SiteConfig.model_validate(
        {
            "hub": {"prefix": str(tmp_path / "prefix"), "state_dir": str(tmp_path / "state")},
            "datasets": {"mirror": str(mirror) if mirror else ""},
        }
    )
    public = public_datasets_dir(config)
    for name in ("alpha", "beta", "gamma"):
        write_dataset(public, name, url)
    courses = tmp_path / "courses"
    write_course(courses, "kiso", ["alpha", "beta"])
    write_course(courses, "oyo", ["beta"])
    return config, courses


def test_offline_up_names_every_missing_dataset_and_the_command_and_goes_on(tmp_path):
    config, courses = site(tmp_path)
    lines: list[str] = []
    missing = fetch_course_data(config, courses, log=lines.append, download=True)
    assert missing == ["alpha", "beta"]  # gamma: no course uses it
    text = "\n".join(lines)
    assert "alpha: 公開元に接続できません" in text
    assert "sunaba datasets fetch alpha" in text and "sunaba datasets fetch beta" in text
    assert "beta（コース: kiso、oyo）" in text
    assert "このまま起動します" in text and "試していません" in text
    assert "DATASETS_MIRROR" in text
    assert missing_datasets(config, ["alpha", "gamma", "nowhere"]) == ["alpha", "gamma", "nowhere"]
    assert not any(public_datasets_dir(config).rglob("counts.csv"))


def test_a_bare_sunaba_up_never_downloads_but_reports(tmp_path, monkeypatch):
    import socket
    import urllib.request

    def no_network(*args, **kwargs):
        raise AssertionError("the network was used")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.delenv(DOWNLOAD_ENV, raising=False)
    config, courses = site(tmp_path)
    lines: list[str] = []
    assert fetch_course_data(config, courses, log=lines.append) == ["alpha", "beta"]
    assert "make up で起動すると取得します" in "\n".join(lines)


def test_make_up_downloads_from_the_public_source(tmp_path, monkeypatch):
    """With DOWNLOAD_ENV=1 (as `make up` sets it) the files come from their source URL."""
    import functools
    import http.server
    import threading

    served = tmp_path / "web"
    for name in ("alpha", "beta"):
        (served / name).mkdir(parents=True)
        (served / name / "counts.csv").write_bytes(DATA)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/{{name}}/counts.csv"
        config, courses = site(tmp_path, url=url)
        monkeypatch.setenv(DOWNLOAD_ENV, "1")
        lines: list[str] = []
        assert fetch_course_data(config, courses, log=lines.append) == []
    finally:
        server.shutdown()
        server.server_close()
    assert lines == [
        "  データセット alpha: 公開元から取得しました",
        "  データセット beta: 公開元から取得しました",
    ]
    assert missing_datasets(config, ["alpha", "beta"]) == []


def test_up_fetches_from_the_mirror_and_reports_each(tmp_path):
    mirror = tmp_path / "mirror"
    for name in ("alpha", "beta"):
        (mirror / name).mkdir(parents=True)
        (mirror / name / "counts.csv").write_bytes(DATA)
    config, courses = site(tmp_path, mirror)
    lines: list[str] = []
    assert fetch_course_data(config, courses, log=lines.append) == []
    assert lines == [
        f"  データセット alpha: ミラー {mirror}から取得しました",
        f"  データセット beta: ミラー {mirror}から取得しました",
    ]
    assert (public_datasets_dir(config) / "alpha" / "counts.csv").read_bytes() == DATA
    assert missing_datasets(config, ["alpha", "beta", "gamma"]) == ["gamma"]
    again: list[str] = []
    assert fetch_course_data(config, courses, log=again.append) == []
    assert all("取得済みです" in line for line in again)


def test_a_bad_mirror_file_is_reported_not_raised(tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "alpha").mkdir(parents=True)
    (mirror / "alpha" / "counts.csv").write_bytes(b"changed upstream\n")
    config, courses = site(tmp_path, mirror)
    lines: list[str] = []
    assert fetch_course_data(config, courses, log=lines.append) == ["alpha", "beta"]
    text = "\n".join(lines)
    assert "alpha: ミラー" in text and "sunaba datasets fetch beta" in text


def test_make_up_passes_the_mirror_as_the_config_override(tmp_path):
    """`make up DATASETS_MIRROR=…` sets SUNABA__DATASETS__MIRROR, which the config reads."""
    import subprocess

    repo = Path(__file__).resolve().parents[2]
    dry = subprocess.run(
        ["make", "-n", "up", f"DATASETS_MIRROR={tmp_path}"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"SUNABA__DATASETS__MIRROR={tmp_path} " in dry
    assert f"{DOWNLOAD_ENV}=1 " in dry
    plain = subprocess.run(["make", "-n", "up"], cwd=repo, capture_output=True, text=True).stdout
    assert "SUNABA__DATASETS__MIRROR" not in plain
    config = load_config(
        repo / "hub_config" / "sunaba.yaml", environ={"SUNABA__DATASETS__MIRROR": str(tmp_path)}
    )
    assert config.datasets.mirror == str(tmp_path)


def test_install_copies_the_catalogue_without_the_network(tmp_path, monkeypatch):
    """`make install-dev` (and so `make test`) never downloads data: only `up` and
    `sunaba datasets fetch` do."""
    import socket
    import urllib.request

    from sunaba.deploy.local_install import ensure_datasets_tree

    def no_network(*args, **kwargs):
        raise AssertionError("the network was used")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    repo = Path(__file__).resolve().parents[2]
    config = SiteConfig.model_validate({"hub": {"prefix": str(tmp_path / "prefix")}})
    result = ensure_datasets_tree(config, repo / "datasets")
    public = public_datasets_dir(config)
    assert result.changed and (public / "nanao-shelters" / "datapackage.yaml").is_file()
    assert missing_datasets(config, ["nanao-shelters"]) == ["nanao-shelters"]
