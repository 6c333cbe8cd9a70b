"""Serve one published notebook with Voilà on a Unix socket, inside the app's sandbox.

Run as `python -I -c SOURCE SETTINGS_JSON`. The sandbox has no network (bubblewrap
`--unshare-net`), so the showcase service reaches this server only through the socket file, which
lives in the app's private run directory. Voilà's defaults stay in force where they protect
viewers: kernels accept only widget (comm) messages, never `execute_request`.

What this adds to stock Voilà:
- listening on a Unix socket instead of a TCP port;
- a cap on viewers' kernels: past it, new viewers get a Japanese "busy" page (HTTP 503) instead
  of one more kernel;
- `<base_url>_sunaba/status`, the number of kernels, for the service (the service never forwards
  viewers' requests to `_sunaba/`);
- Japanese explanations on the page when a cell fails or runs past its time limit.
"""

from __future__ import annotations

import json
import os
import re
import sys

import tornado.web
from tornado import httpserver, ioloop, netutil
from traitlets.config import Config
from voila.app import Voila
from voila.tornado.handler import TornadoVoilaHandler

BUSY_PAGE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>混雑しています</title>
<meta http-equiv="refresh" content="15"></head>
<body style="font-family: sans-serif; margin: 3em">
<h1>ただいま混雑しています</h1>
<p>このアプリを同時に見ている人が上限（{limit} 人）に達しました。
しばらくすると自動で読み込み直します。</p>
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
    ]


def tornado_settings() -> dict:
    # The service is the only client and does all checks. Pages are served to viewers with a
    # sandbox CSP (an opaque origin): their requests carry neither the origin nor an XSRF cookie.
    return {"disable_check_xsrf": True, "allow_origin": "*"}


class SocketVoila(Voila):
    """Voilà that listens on a Unix socket and caps the number of viewers' kernels."""

    socket_path = ""
    max_kernels = 10

    def init_handlers(self):
        handlers = []
        for handler in super().init_handlers():
            pattern, klass, *rest = handler
            if klass is TornadoVoilaHandler:
                klass = CappedVoilaHandler
                rest = [{**(rest[0] if rest else {}), "max_kernels": self.max_kernels}]
            handlers.append((pattern, klass, *rest))
        status = self.base_url.rstrip("/") + "/_sunaba/status"
        return [(status, StatusHandler), *handlers]

    def listen(self):
        sock = netutil.bind_unix_socket(self.socket_path, mode=0o600)
        server = httpserver.HTTPServer(self.app)
        server.add_socket(sock)
        self.log.info("Voilà is serving on %s", self.socket_path)
        self.ioloop = ioloop.IOLoop.current()
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
        ViewerKernels.in_flight += 1
        tail = ""
        try:
            async for html in self.get_generator(path=path):
                found = KERNEL_ID.search(tail + html)
                if found:
                    ViewerKernels.assigned.add(found.group(1))
                tail = html[-100:]
                self.write(html)
                self.flush()
        finally:
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
    SocketVoila.socket_path = settings["socket"]
    SocketVoila.max_kernels = int(settings["max_kernels"])
    config = Config()
    config.Voila.tornado_settings = tornado_settings()
    SocketVoila.launch_instance(argv=voila_argv(settings), config=config)


if __name__ == "__main__":
    main(sys.argv)
