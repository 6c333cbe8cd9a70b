"""Serve one published notebook with Voilà on a Unix socket, inside the app's sandbox.

Run as `python -I -c SOURCE SETTINGS_JSON`. The sandbox has no network (bubblewrap
`--unshare-net`), so the showcase service reaches this server only through the socket file, which
lives in the app's private run directory. Voilà's defaults stay in force where they protect
viewers: kernels accept only widget (comm) messages, never `execute_request`.

What this adds to stock Voilà:
- listening on a Unix socket instead of a TCP port (in an app pod on Kubernetes, on the pod's
  own address, which the chart's NetworkPolicy opens to the hub pod only);
- a cap on viewers' kernels (the service works it out from the app's memory): past it, new
  viewers get a Japanese "busy" page (HTTP 503) instead of one more kernel;
- a kernel takes every process it started with it when it goes (`app_kernels`);
- `<base_url>_sunaba/status`, the number of kernels, for the service (the service never forwards
  viewers' requests to `_sunaba/`);
- Japanese explanations on the page when a cell fails or runs past its time limit;
- nothing fetched from outside: Voilà's templates link FontAwesome from a CDN (and load mermaid
  from one when a notebook has a diagram). Template overrides written into the run directory
  point the icons at the copy JupyterHub ships in the same runtime, served under the app's own
  `voila/static/`, and leave mermaid diagrams as their text;
- Markdown images and `<img>` tags that name a file published with the notebook are inlined
  (as Voilà does for plain `![...](file.png)`), also when the name is URL-encoded (Japanese or
  spaces): the page runs in an opaque origin, so a separate request for the file would carry no
  login cookie and be refused for team- and hub-visible apps.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import mimetypes
import os
import re
import sys
from pathlib import Path
from urllib.parse import unquote

import tornado.web
from tornado import httpserver, ioloop, netutil
from traitlets.config import Config
from voila.app import Voila
from voila.exporter import VoilaMarkdownRenderer
from voila.tornado.handler import TornadoVoilaHandler

from .app_kernels import ReapingKernelManager, sweep_forever

BUSY_PAGE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>混雑しています</title>
<meta http-equiv="refresh" content="15"></head>
<body style="font-family: sans-serif; margin: 3em">
<h1>ただいま混雑しています</h1>
<p>このアプリを同時に見ている人が上限（{limit} 人）に達しました。
少し待ってから、もう一度開いてください（15 秒ほどで自動で読み込み直します）。</p>
</body></html>
"""

TIMEOUT_EXPLANATION = (
    "【砂場】このセルが制限時間（{seconds} 秒）を過ぎても終わらなかったため、実行を止めました。"
    "アプリの作成者に知らせてください。"
)
UNUSED_EXTENSIONS = [
    "@jupyter/nbgrader",
    "@jupyter-notebook/lab-extension",
    "@voila-dashboards/jupyterlab-preview",
]
ERROR_EXPLANATION = (
    "【砂場】このセルの実行中にエラーが起きました。アプリの作成者に知らせてください。"
)

# Where the local FontAwesome is served, under the app's base URL. `voila/static/` is a path the
# service forwards to anyone, like Voilà's own assets.
FONTAWESOME_ROUTE = "voila/static/sunaba-fontawesome/"
FONTAWESOME_CDN = "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@^5/css/"
# Voilà's `lab` template, with FontAwesome from the app itself and without the mermaid loader
# (there is no local copy of mermaid; a diagram stays readable as its text). Found before the
# stock one because the override folder comes first in the template search path; it extends the
# stock file by its full path, so the two never shadow each other. (`@CDN@` and `@ROUTE@` are
# filled in by `write_template_overrides`.)
INDEX_OVERRIDE = """{%- extends 'voila/templates/lab/index.html.j2' -%}
{%- block notebook_css -%}
{{ super() | replace('@CDN@', resources.base_url ~ '@ROUTE@css/') }}
{%- endblock notebook_css -%}
{%- block html_head_js_mermaidjs -%}
{%- endblock html_head_js_mermaidjs -%}
"""
# Voilà's error pages extend `page.html`, whose CDN link sits outside any block: replaced whole,
# with the same blocks.
PAGE_OVERRIDE = """<!DOCTYPE html>
<html lang="ja">
<head>
<meta charset="utf-8">
<title>{% block title %}Voilà{% endblock %}</title>
<meta name="viewport" content="width=device-width, initial-scale=1.0">
{% block stylesheets %}{% endblock %}
<link rel="stylesheet" href="{{ base_url }}@ROUTE@css/all.min.css">
<link rel="stylesheet" href="{{ base_url }}@ROUTE@css/v4-shims.min.css">
{% block meta %}{% endblock %}
</head>
<body data-base-url="{{ base_url }}voila/" data-voila="voila">
<div>{% block body %}{% endblock %}</div>
{% block scripts %}{% endblock %}
</body>
</html>
"""
IMG_SRC = re.compile(r"""(<img\b[^>]*?\bsrc\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)

log = logging.getLogger("sunaba.showcase.app")


def settings_from_argv(argv: list[str]) -> dict:
    if len(argv) != 2:
        raise SystemExit("usage: voila_app SETTINGS_JSON")
    return json.loads(argv[1])


def voila_argv(settings: dict) -> list[str]:
    """Command-line traits: they take priority over any config file Voilà might find."""
    seconds = int(settings["cell_timeout"])
    return [
        settings["notebook"],
        "--no-browser",
        f"--Voila.base_url={settings['base_url']}",
        "--Voila.config_file_paths=[]",
        # Neither the notebook's metadata nor `?voila-template=` may pick another template:
        # the others link CDNs, and the overrides below are written for `lab`.
        "--VoilaConfiguration.template=lab",
        "--VoilaConfiguration.allow_template_override=NO",
        "--VoilaConfiguration.preheat_kernel=True",
        f"--VoilaConfiguration.default_pool_size={int(settings['pool_size'])}",
        "--VoilaConfiguration.show_tracebacks=False",
        # Lab extensions that make no sense in an app only slow every page down.
        f"--VoilaConfiguration.extension_denylist={json.dumps(UNUSED_EXTENSIONS)}",
        f"--VoilaExecutor.timeout={seconds}",
        "--VoilaExecutor.interrupt_on_timeout=True",
        f"--VoilaExecutor.cell_timeout_instruction={TIMEOUT_EXPLANATION.format(seconds=seconds)}",
        f"--VoilaExecutor.cell_error_instruction={ERROR_EXPLANATION}",
        # Idle viewers' kernels go away, also when a browser tab stays open or a cell hangs.
        f"--MappingKernelManager.cull_idle_timeout={int(settings['idle_timeout'])}",
        f"--MappingKernelManager.cull_interval={max(10, int(settings['idle_timeout']) // 4)}",
        "--MappingKernelManager.cull_connected=True",
        "--MappingKernelManager.cull_busy=True",
        # Processes a notebook starts end with its kernel.
        f"--MappingKernelManager.kernel_manager_class={ReapingKernelManager.dotted_name()}",
    ]


def tornado_settings() -> dict:
    # The service is the only client and does all checks. Pages are served to viewers with a
    # sandbox CSP (an opaque origin): their requests carry neither the origin nor an XSRF cookie.
    return {"disable_check_xsrf": True, "allow_origin": "*"}


def fontawesome_dir() -> Path | None:
    """The FontAwesome (CSS and webfonts) that JupyterHub ships in the runtime, or None."""
    try:
        from jupyterhub._data import DATA_FILES_PATH
    except ImportError:
        return None
    folder = Path(DATA_FILES_PATH) / "static" / "components" / "@fortawesome" / "fontawesome-free"
    return folder if (folder / "css" / "all.min.css").is_file() else None


def write_template_overrides(folder: Path) -> Path:
    """Write the template overrides into `folder` (in the private run directory)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (("index.html.j2", INDEX_OVERRIDE), ("page.html", PAGE_OVERRIDE)):
        text = text.replace("@CDN@", FONTAWESOME_CDN).replace("@ROUTE@", FONTAWESOME_ROUTE)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def published_image(folder: str, src: str) -> Path | None:
    """The image file a Markdown cell names, if it was published with the notebook.

    Markdown writes names URL-encoded (`グラフ%201.png`); the file has the plain name. Only
    images are inlined, and only files inside the notebook's folder.
    """
    name = unquote(src.split("#", 1)[0].split("?", 1)[0]).strip()
    if not name or "://" in name or name.startswith(("data:", "attachment:", "/")):
        return None
    mime, _ = mimetypes.guess_type(name)
    if not mime or not mime.startswith("image/"):
        return None
    root = os.path.realpath(folder)
    path = os.path.realpath(os.path.join(root, name))
    if not path.startswith(root + os.sep) or not os.path.isfile(path):
        return None
    return Path(path)


class InliningMarkdownRenderer(VoilaMarkdownRenderer):
    """Markdown images and `<img>` tags in Markdown cells that name a published file become
    `data:` URLs, so the page needs no further request (which would carry no login cookie)."""

    def __init__(self, contents_manager, *args, **kwargs):
        kwargs.update(embed_images=True, path=contents_manager.root_dir)
        super().__init__(contents_manager, *args, **kwargs)

    def _src_to_base64(self, src: str) -> str | None:
        path = published_image(self.path, src)
        if path is None:
            return None
        mime, _ = mimetypes.guess_type(path.name)
        return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")

    def _html_embed_images(self, html: str) -> str:
        # Only the `src` of `<img>` tags changes: re-serialising the HTML (as nbconvert does)
        # would close a `<div>` that a later Markdown block closes.
        def inline(match: re.Match) -> str:
            data = self._src_to_base64(match.group(3))
            return (
                match.group(0)
                if data is None
                else f"{match.group(1)}{match.group(2)}{data}{match.group(2)}"
            )

        return IMG_SRC.sub(inline, html)


class SocketVoila(Voila):
    """Voilà that listens on a Unix socket, caps the number of viewers' kernels and fetches
    nothing from outside."""

    socket_path = ""
    tcp_address = ""
    tcp_port = 0
    max_kernels = 10
    overrides_dir = ""

    def setup_template_dirs(self):
        super().setup_template_dirs()
        self.template_paths = [self.overrides_dir, *self.template_paths]

    def init_handlers(self):
        handlers = []
        for handler in super().init_handlers():
            pattern, klass, *rest = handler
            if klass is TornadoVoilaHandler:
                klass = CappedVoilaHandler
                rest = [{**(rest[0] if rest else {}), "max_kernels": self.max_kernels}]
            handlers.append((pattern, klass, *rest))
        status = self.base_url.rstrip("/") + "/_sunaba/status"
        own = [(status, StatusHandler)]
        fontawesome = fontawesome_dir()
        if fontawesome is None:
            log.warning("FontAwesome not found in the runtime: apps show no icons")
        else:
            own.append(
                (
                    self.base_url + FONTAWESOME_ROUTE + "(.*)",
                    tornado.web.StaticFileHandler,
                    {"path": str(fontawesome)},
                )
            )
        return [*own, *handlers]

    def start_sweep(self):
        self.sweeper = asyncio.ensure_future(sweep_forever())

    def listen(self):
        server = httpserver.HTTPServer(self.app)
        if self.tcp_address:
            # In an app pod: the pod's own address, which only the hub pod may reach.
            server.listen(self.tcp_port, self.tcp_address)
            self.log.info("Voilà is serving on %s:%s", self.tcp_address, self.tcp_port)
        else:
            server.add_socket(netutil.bind_unix_socket(self.socket_path, mode=0o600))
            self.log.info("Voilà is serving on %s", self.socket_path)
        self.ioloop = ioloop.IOLoop.current()
        self.ioloop.add_callback(self.start_sweep)
        try:
            self.ioloop.start()
        finally:
            self.stop()


KERNEL_ID = re.compile(r'"kernelId":\s*"([0-9a-f-]{36})"')


class ViewerKernels:
    """Kernels handed to viewers (read from the pages served) and pages still being served.

    Preheated kernels waiting in the pool are not viewers' kernels, and a pool slot that is
    being refilled may or may not be listed yet, so counting the kernel manager's list would be
    off by the pool; this counts what was actually handed out.
    """

    assigned: set[str] = set()
    in_flight = 0

    @classmethod
    def count(cls, kernel_manager) -> int:
        running = set(kernel_manager.list_kernel_ids())
        cls.assigned &= running
        return len(cls.assigned) + cls.in_flight


class CappedVoilaHandler(TornadoVoilaHandler):
    def initialize(self, **kwargs):
        self.max_kernels = kwargs.pop("max_kernels")
        super().initialize(**kwargs)

    async def get(self, path=None):
        if ViewerKernels.count(self.kernel_manager) >= self.max_kernels:
            self.set_status(503)
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.set_header("Retry-After", "15")
            self.finish(BUSY_PAGE.format(limit=self.max_kernels))
            return
        # Counted as in flight until the page names its kernel, then as that kernel (never
        # both: a crowd arriving while the first pages stream would be turned away too early).
        ViewerKernels.in_flight += 1
        in_flight = True
        tail = ""
        try:
            async for html in self.get_generator(path=path):
                found = KERNEL_ID.search(tail + html) if in_flight else None
                if found:
                    ViewerKernels.assigned.add(found.group(1))
                    ViewerKernels.in_flight -= 1
                    in_flight = False
                tail = html[-100:]
                self.write(html)
                self.flush()
        finally:
            if in_flight:
                ViewerKernels.in_flight -= 1


class StatusHandler(tornado.web.RequestHandler):
    def get(self):
        manager = self.settings["kernel_manager"]
        pools = getattr(manager, "_pools", {}).values()
        self.set_header("Content-Type", "application/json")
        self.finish(
            json.dumps(
                {
                    "kernels": len(manager.list_kernel_ids()),
                    "viewers": ViewerKernels.count(manager),
                    "pool_ready": sum(
                        1 for pool in pools for task in pool if task.done() and not task.exception()
                    ),
                }
            )
        )


def main(argv: list[str]) -> None:
    settings = settings_from_argv(argv)
    os.umask(0o077)
    SocketVoila.max_kernels = int(settings["max_kernels"])
    if "listen_env" in settings:
        # On Kubernetes (`sunaba.showcase.k8s_pods`): TCP on the address the pod was given.
        SocketVoila.tcp_address = os.environ[settings["listen_env"]]
        SocketVoila.tcp_port = int(settings["port"])
        run_dir = Path(settings["run_dir"])
    else:
        SocketVoila.socket_path = settings["socket"]
        run_dir = Path(settings["socket"]).parent
    SocketVoila.overrides_dir = str(write_template_overrides(run_dir / "voila-templates"))
    config = Config()
    config.Voila.tornado_settings = tornado_settings()
    config.VoilaExporter.markdown_renderer_class = InliningMarkdownRenderer
    SocketVoila.launch_instance(argv=voila_argv(settings), config=config)


if __name__ == "__main__":
    main(sys.argv)
