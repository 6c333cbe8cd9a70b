"""The scripts that run inside sandboxes, run here in-process: the Voilà settings that keep
viewers' kernels to widget messages and limited in time, and the headless check on real
kernels (a failing cell, an endless loop)."""

from __future__ import annotations

import base64
import json

import jinja2
from jupyter_server.services.contents.filemanager import FileContentsManager
from nbconvert.filters.markdown_mistune import MarkdownWithMath
from voila.paths import collect_template_paths

from sunaba.showcase.sandboxed import headless_check, script_source
from sunaba.showcase.sandboxed.voila_app import (
    FONTAWESOME_ROUTE,
    InliningMarkdownRenderer,
    fontawesome_dir,
    published_image,
    voila_argv,
    write_template_overrides,
)

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
)

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
    # Always the `lab` template with Sunaba's overrides: the other templates link CDNs.
    assert "--VoilaConfiguration.template=lab" in argv
    assert "--VoilaConfiguration.allow_template_override=NO" in argv


def test_the_runtime_ships_fontawesome_for_the_apps():
    folder = fontawesome_dir()
    assert folder is not None
    assert (folder / "css" / "all.min.css").is_file()
    assert (folder / "css" / "v4-shims.min.css").is_file()
    assert (folder / "webfonts" / "fa-solid-900.woff2").is_file()


def test_voilas_error_pages_link_nothing_outside(tmp_path):
    """Voilà's `page.html` links FontAwesome from a CDN; the override links the app's copy."""
    overrides = write_template_overrides(tmp_path / "overrides")
    paths = [str(overrides), *collect_template_paths(["voila", "nbconvert"], "lab", prune=True)]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(paths), extensions=["jinja2.ext.i18n"], autoescape=True
    )
    env.install_null_translations()
    html = env.get_template("404.html").render(
        base_url="/services/showcase/apps/7/", status_code=404, status_message="Not Found"
    )
    assert "404: Not Found" in html
    assert f'href="/services/showcase/apps/7/{FONTAWESOME_ROUTE}css/all.min.css"' in html
    assert "://" not in html
    index = (overrides / "index.html.j2").read_text()
    assert "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@^5/css/" in index
    assert "html_head_js_mermaidjs" in index


def test_only_published_images_inside_the_notebooks_folder_are_inlined(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "グラフ 1.png").write_bytes(PNG)
    (tmp_path / "app" / "notes.txt").write_text("x")
    (tmp_path / "outside.png").write_bytes(PNG)
    folder = str(tmp_path / "app")
    assert published_image(folder, "グラフ%201.png") == tmp_path / "app" / "グラフ 1.png"
    assert published_image(folder, "./グラフ 1.png?v=2#top") is not None
    assert published_image(folder, "../outside.png") is None
    assert published_image(folder, str(tmp_path / "outside.png")) is None
    assert published_image(folder, "notes.txt") is None
    assert published_image(folder, "missing.png") is None
    assert published_image(folder, "https://example.jp/a.png") is None


def test_markdown_images_and_img_tags_become_data_urls(tmp_path):
    (tmp_path / "chart.png").write_bytes(PNG)
    (tmp_path / "グラフ 1.png").write_bytes(PNG)
    renderer = InliningMarkdownRenderer(
        escape=False,
        attachments={"a.png": {"image/png": base64.b64encode(PNG).decode()}},
        contents_manager=FileContentsManager(root_dir=str(tmp_path)),
        anchor_link_text="¶",
    )
    source = (
        "![図](chart.png)\n\n![グラフ](グラフ%201.png)\n\n"
        '<img src="chart.png" width="80" alt="図">\n\n![添付](attachment:a.png)\n\n'
        '![ない](missing.png)\n\n<div class="box">\n\n**中身**\n\n</div>'
    )
    html = MarkdownWithMath(renderer=renderer).render(source)
    data = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert html.count(f'src="{data}"') == 4
    assert '<img src="' + data + '" width="80" alt="図">' in html
    assert 'src="missing.png"' in html
    # HTML around the images is left as written (a <div> opened and closed in two blocks).
    assert '<div class="box">' in html and "</div>" in html


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
