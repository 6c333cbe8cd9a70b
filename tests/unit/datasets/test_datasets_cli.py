"""`sunaba datasets …` through the real top-level CLI, with a site config in a temporary prefix."""

from pathlib import Path

import pytest
import yaml

from sunaba.cli import main
from tests.unit.datasets.paths import CATALOGUE_DIR


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "sunaba.yaml"
    # Only the checkout's catalogue: what `make up` downloaded into the machine's shared
    # datasets folder must not change what is listed as fetched here.
    data = {
        "hub": {"prefix": str(tmp_path / "prefix"), "state_dir": str(tmp_path / "state")},
        "datasets": {"catalogue": str(CATALOGUE_DIR)},
    }
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def run(config, *args) -> int:
    return main(["--config", str(config), "datasets", *args])


def test_list(config, capsys):
    assert run(config, "list") == 0
    out = capsys.readouterr().out
    assert "sunaba-city" in out and "架空のデータ" in out and "census-2020-prefectures" in out
    assert "取得済み 0/1" in out


def test_info(config, capsys):
    assert run(config, "info", "takamatsu-facilities", "--columns") == 0
    out = capsys.readouterr().out
    assert "CC BY 4.0" in out and "高松市オープンデータ" in out and "未取得" in out
    assert "installationPosition" in out and "raw.githubusercontent.com" in out
    assert run(config, "info", "sunaba-city") == 0
    assert "架空のデータです" in capsys.readouterr().out
    assert run(config, "info", "nope") == 1
    assert "見つかりません" in capsys.readouterr().err


def test_validate(config, capsys, tmp_path):
    assert (
        run(
            config,
            "validate",
            str(CATALOGUE_DIR / "sunaba-city" / "aed.csv"),
            "--schema",
            "AED設置箇所一覧",
            "--output",
            str(tmp_path / "p.csv"),
        )
        == 1
    )
    out = capsys.readouterr().out
    assert "経度と入れ替わっていませんか" in out and "問題 9 件" in out
    assert (tmp_path / "p.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert (
        run(
            config,
            "validate",
            str(CATALOGUE_DIR / "census-2020-prefectures" / "population.csv"),
            "--schema",
            "census-2020-prefectures",
        )
        == 0
    )
    assert "問題はありません" in capsys.readouterr().out
    assert run(config, "validate", str(tmp_path / "none.csv"), "--schema", "aed") == 1
    assert "ファイルがありません" in capsys.readouterr().err


def test_fetch_into_cache_from_mirror(config, capsys, tmp_path, mirror):
    cache = tmp_path / "cache"
    assert (
        run(config, "fetch", "takamatsu-city-tax", "--mirror", str(mirror), "--cache", str(cache))
        == 0
    )
    out = capsys.readouterr()
    assert "取得 1 件" in out.out
    # Off a terminal, progress is one line per file.
    progress = [line for line in out.err.splitlines() if line.startswith("取得 ")]
    assert len(progress) == 1
    assert progress[0].startswith("取得 1/1 takamatsu-city-tax/city_tax_settlement_status.csv")
    assert (cache / "takamatsu-city-tax" / "city_tax_settlement_status.csv").is_file()
    assert (
        run(
            config,
            "fetch",
            "takamatsu-city-tax",
            "--mirror",
            str(tmp_path / "nowhere"),
            "--cache",
            str(cache),
        )
        == 1
    )
    assert "ミラーのフォルダがありません" in capsys.readouterr().err


def test_fetch_default_target_and_config_mirror(tmp_path, capsys, mirror):
    path = tmp_path / "site.yaml"
    prefix = tmp_path / "prefix"
    data = {
        "hub": {"prefix": str(prefix), "state_dir": str(tmp_path / "state")},
        "datasets": {"mirror": str(mirror)},
    }
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert main(["--config", str(path), "datasets", "fetch", "takamatsu-city-tax"]) == 0
    assert (
        prefix / "share" / "datasets" / "takamatsu-city-tax" / "city_tax_settlement_status.csv"
    ).is_file()
    assert main(["--config", str(path), "datasets", "list"]) == 0
    assert "取得済み 1/1" in capsys.readouterr().out


def test_generate(config, capsys, tmp_path):
    out = tmp_path / "gen"
    assert run(config, "generate", "--out", str(out)) == 0
    assert (out / "aed.csv").read_bytes() == (
        CATALOGUE_DIR / "sunaba-city" / "aed.csv"
    ).read_bytes()
    assert "架空" in capsys.readouterr().out
