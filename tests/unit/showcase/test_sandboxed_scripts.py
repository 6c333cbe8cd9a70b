"""The scripts that run inside sandboxes, run here in-process: the Voilà settings that keep
viewers' kernels to widget messages and limited in time, and the headless check on real
kernels (a failing cell, an endless loop)."""

from __future__ import annotations

import json

from sunaba.showcase.sandboxed import headless_check, script_source
from sunaba.showcase.sandboxed.voila_app import voila_argv

SETTINGS = {
    "notebook": "/apps/v1/app.ipynb",
    "socket": "/apps/run/voila.sock",
    "base_url": "/services/showcase/apps/7/",
    "pool_size": 2,
    "cell_timeout": 30,
    "max_kernels": 5,
    "idle_timeout": 600,
}


def test_voila_is_preheated_time_limited_and_culls_idle_kernels():
    argv = voila_argv(SETTINGS)
    assert argv[0] == "/apps/v1/app.ipynb"
    for flag in (
        "--Voila.base_url=/services/showcase/apps/7/",
        "--Voila.config_file_paths=[]",
        "--VoilaConfiguration.preheat_kernel=True",
        "--VoilaConfiguration.default_pool_size=2",
        "--VoilaConfiguration.show_tracebacks=False",
        "--VoilaExecutor.timeout=30",
        "--VoilaExecutor.interrupt_on_timeout=True",
        "--MappingKernelManager.cull_idle_timeout=600",
        "--MappingKernelManager.cull_busy=True",
        "--MappingKernelManager.cull_connected=True",
    ):
        assert flag in argv
    # The explanation shown on the page when a cell runs too long is in Japanese.
    assert any("制限時間（30 秒）" in arg for arg in argv)


def test_scripts_import_nothing_from_sunaba():
    for name in ("voila_app", "snapshot_reader", "headless_check", "thumbnail"):
        source = script_source(name)
        assert "from sunaba" not in source and "import sunaba" not in source


def write_notebook(path, *cells: str) -> None:
    path.write_text(
        json.dumps(
            {
                "cells": [
                    {
                        "cell_type": "code",
                        "metadata": {},
                        "outputs": [],
                        "execution_count": None,
                        "source": c,
                    }
                    for c in cells
                ],
                "metadata": {
                    "kernelspec": {
                        "name": "python3",
                        "display_name": "Python 3",
                        "language": "python",
                    }
                },
                "nbformat": 4,
                "nbformat_minor": 5,
            }
        )
    )


def test_headless_check_names_the_failing_cell(tmp_path):
    path = tmp_path / "app.ipynb"
    write_notebook(path, "x = 1", "print('ok')", "x / 0")
    result = headless_check.check(path, timeout=30)
    assert result["ok"] is False and result["kind"] == "error"
    assert (result["number"], result["cell"], result["source"]) == (3, 2, "x / 0")
    assert result["ename"] == "ZeroDivisionError"


def test_headless_check_stops_an_endless_loop(tmp_path):
    path = tmp_path / "loop.ipynb"
    write_notebook(path, "while True:\n    pass")
    result = headless_check.check(path, timeout=3)
    assert result["kind"] == "timeout" and result["number"] == 1


def test_headless_check_passes_a_good_notebook(tmp_path):
    path = tmp_path / "ok.ipynb"
    (tmp_path / "data.csv").write_text("a\n1\n")
    write_notebook(path, "print(open('data.csv').read())")
    assert headless_check.check(path, timeout=30) == {"ok": True, "code_cells": 1}
