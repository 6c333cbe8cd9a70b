"""`sunaba up` refuses to run learners' servers without isolation unless told so explicitly."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from tests.support.hub import PREFIX, REPO, SUNABA, free_port

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("language", "said"),
    [
        (
            "ja",
            [
                "を準備しています",
                "隔離: none: 受講者のサーバーは隔離されていません",
                "起動しません",
            ],
        ),
        ("en", ["Sunaba: preparing", "isolation: none: learners' servers are NOT", "Refusing"]),
    ],
)
def test_up_refuses_without_isolation(tmp_path, language, said):
    site = tmp_path / "sunaba.yaml"
    state = tmp_path / "state"
    site.write_text(
        yaml.safe_dump(
            {
                "site": {"language": language},
                "hub": {"state_dir": str(state), "prefix": str(PREFIX), "port": free_port()},
                "sandbox": {"mode": "none"},
            }
        )
    )
    result = subprocess.run(
        [str(SUNABA), "--config", str(site), "up"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    assert "--insecure-demo" in result.stderr
    assert not state.exists()  # no account, database or secret was made
    assert "Sunaba is running" not in result.stdout
    assert "Sunaba を起動しました" not in result.stdout
    output = result.stdout + result.stderr
    assert all(text in output for text in said), output


def test_doctor_reports_each_check_and_the_level():
    result = subprocess.run(
        [str(SUNABA), "--config", str(REPO / "hub_config" / "sunaba.yaml"), "doctor"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = result.stdout.splitlines()
    for name in ("root", "bubblewrap", "cgroups", "runtime prefix", "state dir"):
        assert any(name in line for line in lines), result.stdout
    assert lines[-1].startswith("隔離レベル: full: 受講者ごとに Unix アカウント"), result.stdout
    assert result.returncode == 0
