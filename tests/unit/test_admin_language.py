"""Commands speak the site's language (`site.language`) to the admin, Japanese by default and
when the config cannot be read; `str()` of a bilingual text or error stays English, for logs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sunaba.cli import main
from sunaba.config.loader import validate
from sunaba.deploy.local_install import StepResult, step_line
from sunaba.deploy.rendered import RenderError
from sunaba.messages import BilingualError, Text, error_text, language, localized, say


def site(tmp_path: Path, lang: str | None, extra: dict | None = None) -> Path:
    data = {
        "hub": {"state_dir": str(tmp_path / "state"), "prefix": str(tmp_path / "prefix")},
        "deploy": {"server_name": "sunaba.city.example.jp"},
        "network": {"firewall": False},
    }
    if lang:
        data["site"] = {"language": lang}
    for key, value in (extra or {}).items():
        data.setdefault(key, {}).update(value)
    path = tmp_path / "sunaba.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def run(capsys, config_file: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--config", str(config_file), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# The mechanism.


def test_language_comes_from_the_config_a_code_or_the_default():
    assert language(None) == "ja"
    assert language("en") == "en"
    assert language(validate({"site": {"language": "en"}}, "t")) == "en"
    assert language(validate({}, "t")) == "ja"
    with pytest.raises(ValueError, match="fr"):
        language("fr")


def test_say_and_texts_pick_one_language():
    en = validate({"site": {"language": "en"}}, "t")
    assert say(en, ja="変更しました", en="changed") == "changed"
    assert say(None, ja="変更しました", en="changed") == "変更しました"
    text = Text("最新です", "up to date")
    assert text.to("ja") == "最新です" and text.to(en) == "up to date"
    assert str(text) == "up to date"  # logs stay English
    assert localized("ja", "/opt/sunaba") == "/opt/sunaba"


def test_a_bilingual_error_is_english_in_logs_and_spoken_where_printed():
    error = RenderError(ja="秘密の値が入ります", en="would contain a secret")
    assert isinstance(error, BilingualError)
    assert str(error) == "would contain a secret"
    assert error_text("ja", error) == "秘密の値が入ります"
    assert error_text("en", error) == "would contain a secret"
    assert error_text("ja", ValueError("plain")) == "plain"


def test_step_lines_in_both_languages():
    done = StepResult(Text("状態ディレクトリ", "state dir"), True, "/var/lib/sunaba")
    same = StepResult(
        Text("書き出したファイル", "rendered files"), False, Text("最新です", "up to date")
    )
    assert step_line(done, "ja") == "  変更しました 状態ディレクトリ: /var/lib/sunaba"
    assert step_line(same, "ja") == "  変更なし     書き出したファイル: 最新です"
    assert step_line(done, "en") == "  changed state dir: /var/lib/sunaba"
    assert step_line(same, "en") == "  ok      rendered files: up to date"


# Each command, in both languages.


@pytest.mark.parametrize(
    ("lang", "said"), [(None, "個のファイルを書き出しました"), ("en", "files written to")]
)
def test_deploy_render_says_what_it_wrote(tmp_path, capsys, lang, said):
    out = tmp_path / "out"
    code, stdout, _ = run(capsys, site(tmp_path, lang), "deploy", "render", "vm", "--out", str(out))
    assert code == 0 and said in stdout and str(out) in stdout


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        (
            "ja",
            "何も書き出していません: hub.db_url: Kubernetes ではハブのデータベースに PostgreSQL",
        ),
        ("en", "nothing written: hub.db_url: Kubernetes needs PostgreSQL"),
    ],
)
def test_deploy_render_refusal_in_the_site_language(tmp_path, capsys, lang, said):
    config_file = site(tmp_path, lang, {"hub": {"db_url": "sqlite:////tmp/sunaba-test-hub.db"}})
    out = tmp_path / "out"
    code, _, stderr = run(capsys, config_file, "deploy", "render", "k8s", "--out", str(out),
                          "--skip-chart-schema")  # fmt: skip
    assert code == 1 and not out.exists()
    assert said in stderr


def test_an_unreadable_config_is_reported_in_japanese(tmp_path, capsys):
    config_file = site(tmp_path, "en", {"hub": {"prot": 80}})
    out = tmp_path / "out"
    code, _, stderr = run(capsys, config_file, "deploy", "render", "vm", "--out", str(out))
    assert code == 1 and stderr.startswith("何も書き出していません: ")
    code, _, stderr = run(capsys, config_file, "config", "check")
    assert code == 1 and stderr.startswith("問題が 1 件あります:")
    code, _, stderr = run(capsys, config_file, "deploy", "vm", "install", "--root", str(out))
    assert code == 1 and stderr.startswith("何もインストールしていません: ")


@pytest.mark.parametrize(
    ("lang", "changed", "kept"),
    [
        (None, "変更しました サイト設定", "変更なし     書き出したファイル: 最新です"),
        ("en", "changed site config", "ok      rendered files: up to date"),
    ],
)
def test_vm_install_steps_in_the_site_language(tmp_path, capsys, lang, changed, kept):
    args = ["deploy", "vm", "install", "--root", str(tmp_path / "root")]
    code, first, _ = run(capsys, site(tmp_path, lang), *args)
    assert code == 0 and changed in first, first
    code, second, _ = run(capsys, site(tmp_path, lang), *args)
    assert code == 0 and kept in second, second
    certificate = "ありません: 証明書を" if lang is None else "missing: put the certificate at"
    assert certificate in second


@pytest.mark.parametrize(
    ("lang", "said"), [(None, "JupyterLab の設定"), ("en", "jupyterlab settings")]
)
def test_image_prepare_steps_in_the_site_language(tmp_path, capsys, lang, said):
    source = tmp_path / "source"
    (source / "datasets").mkdir(parents=True)
    code, stdout, _ = run(capsys, site(tmp_path, lang), "deploy", "image-prepare",
                          "--source", str(source))  # fmt: skip
    assert code == 0 and said in stdout, stdout


@pytest.mark.parametrize(("lang", "said"), [(None, "を書き出しました"), ("en", "wrote ")])
def test_config_docs_and_check(tmp_path, capsys, lang, said):
    config_file = site(tmp_path, lang)
    out = tmp_path / "config.md"
    code, stdout, _ = run(capsys, config_file, "config", "docs", "--out", str(out))
    assert code == 0 and said in stdout and out.is_file()
    code, stdout, _ = run(capsys, config_file, "config", "check")
    assert code == 0
    assert stdout.strip() == (f"{config_file}: " + ("問題ありません" if lang is None else "OK"))


@pytest.mark.parametrize(
    ("lang", "off", "removed"),
    [
        (None, "ルールはインストールしていません", "はインストールされていませんでした"),
        ("en", "no rules installed", "was not installed"),
    ],
)
def test_firewall_commands_in_the_site_language(tmp_path, capsys, lang, off, removed):
    config_file = site(tmp_path, lang)
    code, stdout, _ = run(capsys, config_file, "firewall", "install")
    assert code == 0 and off in stdout
    code, stdout, _ = run(capsys, config_file, "firewall", "remove")  # a table never installed
    assert code == 0 and removed in stdout


@pytest.mark.parametrize(
    ("lang", "checks", "level"),
    [
        (None, "ハブは root で動きます", "隔離レベル: "),
        ("en", "hub runs as root", "isolation level: "),
    ],
)
def test_doctor_in_the_site_language(tmp_path, capsys, lang, checks, level):
    code, stdout, _ = run(capsys, site(tmp_path, lang), "doctor")
    lines = stdout.splitlines()
    assert any(line.startswith("[ok] root") and checks in line for line in lines), stdout
    assert lines[-1].startswith(level), stdout
    network = "ネットワーク: 制限していません" if lang is None else "network: NOT restricted"
    assert network in lines[-1]  # network.firewall is off in these configs
    assert code in (0, 1)


@pytest.mark.parametrize(
    ("lang", "said"), [(None, "Sunaba を起動しました"), ("en", "Sunaba is running")]
)
def test_up_announces_the_hub_in_the_site_language(tmp_path, capsys, lang, said):
    from sunaba.config import load_config
    from sunaba.runtime.hubprocess import announce

    announce(load_config(site(tmp_path, lang), with_secrets=False))
    assert said in capsys.readouterr().out
