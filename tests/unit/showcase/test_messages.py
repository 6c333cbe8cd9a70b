"""Refusals name what and where, in Japanese."""

from __future__ import annotations

from sunaba.showcase.messages import check_failed, snapshot_refused


def test_a_failing_cell_is_named_with_its_error_and_the_live_version_is_mentioned():
    error = check_failed(
        {
            "kind": "error",
            "number": 3,
            "cell": 5,
            "ename": "KeyError",
            "evalue": "'人口'",
            "source": "df['人口']",
        },
        60,
        had_live=True,
    )
    assert error.status == 422
    assert "3 番目のコードセル" in error.message and "KeyError: '人口'" in error.message
    assert "公開中の版はそのまま" in error.message
    assert error.details["source"] == "df['人口']"


def test_a_timeout_names_the_limit_and_a_first_publish_has_no_live_version():
    error = check_failed({"kind": "timeout", "number": 1}, 30, had_live=False)
    assert "制限時間（30 秒）" in error.message
    assert "公開中の版" not in error.message


def test_snapshot_refusals_name_the_file():
    assert (
        "「work/x.ipynb」が見つかりません" in snapshot_refused("not_found", "work/x.ipynb").message
    )
    assert "ホームフォルダーの外" in snapshot_refused("outside_home", "a.ipynb").message
