"""Helpers for showcase tests: notebooks as data, files into a learner's home through their own
server, and a client for the showcase service's API and its apps' kernels."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import subprocess
import time
import uuid
from pathlib import Path

import requests

from tests.support.hub import SUNABA, Learner, SunabaHub
from tests.support.kernel_protocol import messages_until

SHELTERS_CSV = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "opendata"
    / "nanao-shelters"
    / ("reference_data.csv")
)
KERNEL_ID = re.compile(r'"kernelId":\s*"([0-9a-f-]{36})"')


def notebook(*cells: str, markdown: tuple[str, ...] = ()) -> str:
    """A notebook whose code cells are `cells` (after optional Markdown cells)."""
    nb_cells = [
        {"cell_type": "markdown", "id": f"m{i}", "metadata": {}, "source": text}
        for i, text in enumerate(markdown)
    ]
    nb_cells += [
        {
            "cell_type": "code",
            "id": f"c{i}",
            "execution_count": None,
            "metadata": {},
            "outputs": [],
            "source": source,
        }
        for i, source in enumerate(cells)
    ]
    return json.dumps(
        {
            "cells": nb_cells,
            "metadata": {
                "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                "language_info": {"name": "python"},
            },
            "nbformat": 4,
            "nbformat_minor": 5,
        },
        ensure_ascii=False,
    )


def shelters_app(marker: str) -> str:
    """The demo app: 七尾市's shelters with a capacity slider and a bar chart that follows it."""
    return notebook(
        "import csv, re\n"
        "rows = list(csv.DictReader(open('data/shelters.csv', encoding='utf-8')))\n"
        f"print('{marker}', '避難所の数:', len(rows))\n",
        "import ipywidgets as widgets\n"
        "import matplotlib.pyplot as plt\n"
        "def indoor(text):\n"
        "    match = re.search(r'屋内([0-9,]+)', text or '')\n"
        "    return int(match.group(1).replace(',', '')) if match else 0\n"
        "sizes = sorted((indoor(r['想定収容人数']) for r in rows), reverse=True)\n"
        "slider = widgets.IntSlider(value=500, min=0, max=3000, step=100, description='収容人数')\n"
        "label = widgets.Label()\n"
        "out = widgets.Output()\n"
        "def draw(change=None):\n"
        "    big = [s for s in sizes if s >= slider.value]\n"
        "    label.value = f'{slider.value} 人以上: {len(big)} か所'\n"
        "    with out:\n"
        "        out.clear_output(wait=True)\n"
        "        fig, ax = plt.subplots(figsize=(6, 3))\n"
        "        ax.bar(range(len(big)), big)\n"
        "        plt.show()\n"
        "slider.observe(draw, 'value')\n"
        "draw()\n"
        "display(widgets.VBox([slider, label, out]))\n",
        markdown=("# 七尾市の避難所\n収容人数で絞り込みます。",),
    )


class ShowcaseClient:
    """The showcase's API, as a hub user (token) or anonymously."""

    def __init__(self, hub: SunabaHub):
        self.hub = hub
        self.base = f"{hub.url}/services/showcase/"

    def headers(self, learner: Learner | None) -> dict:
        return {"Authorization": f"token {learner.token}"} if learner else {}

    def api(self, method: str, path: str, learner: Learner | None = None, **kwargs):
        return requests.request(
            method,
            self.base + "api/" + path,
            headers=self.headers(learner),
            timeout=kwargs.pop("timeout", 240),
            **kwargs,
        )

    def publish(self, learner: Learner, notebook_path: str, title: str, team: str, **fields):
        body = {
            "notebook": notebook_path,
            "title": title,
            "team": team,
            "description": fields.pop("description", "テスト用のアプリです。"),
            "visibility": fields.pop("visibility", "team"),
            **fields,
        }
        return self.api("POST", "apps", learner, json=body)

    def page(
        self,
        app_id: int,
        learner: Learner | None = None,
        path: str = "",
        *,
        keep_kernel: bool = False,
        **kwargs,
    ):
        """GET a page of the app. Like a browser tab that is closed again, the kernel the page
        started is shut down afterwards, unless `keep_kernel`."""
        response = requests.get(
            f"{self.base}apps/{app_id}/{path}",
            headers=self.headers(learner),
            allow_redirects=False,
            timeout=120,
            **kwargs,
        )
        match = KERNEL_ID.search(response.text) if response.status_code == 200 else None
        if match and not keep_kernel:
            self.shutdown_kernel(app_id, match.group(1))
        return response

    def wait_page(self, app_id: int, learner: Learner | None = None, timeout: float = 120):
        """The app's page once its server is up (a cold start first shows a progress page)."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.page(app_id, learner)
            if response.status_code != 200 or "kernelId" in response.text:
                return response
            if time.monotonic() > deadline:
                raise AssertionError(f"app {app_id} never came up:\n{self.hub.log_tail(60)}")
            time.sleep(1)

    def shutdown_kernel(self, app_id: int, kernel_id: str) -> int:
        return requests.post(
            f"{self.base}apps/{app_id}/voila/api/shutdown/{kernel_id}", timeout=30
        ).status_code


def cgroup_dirs(parent: str, name: str) -> list[Path]:
    """Where a group named `name` under `parent` would be, in cgroup v1 and v2."""
    root = Path("/sys/fs/cgroup")
    return [root / c / parent / name for c in ("memory", "cpu", "pids")] + [root / parent / name]


def kernel_id_of(page_html: str) -> str:
    match = KERNEL_ID.search(page_html)
    assert match, "no kernel id in the app page"
    return match.group(1)


def put_file(hub: SunabaHub, learner: Learner, path: str, content: str) -> None:
    """Save a file in the learner's home through their own Jupyter server (as they would)."""
    response = _put_file(hub, learner, path, content)
    if not response.ok and not server_running(hub, learner):
        # The learner's server went away (culled, or killed by a hub's cleanup): start it again.
        ensure_spawned(hub, learner)
        response = _put_file(hub, learner, path, content)
    response.raise_for_status()


def server_running(hub: SunabaHub, learner: Learner) -> bool:
    model = hub.api("GET", f"/users/{learner.name}", token=learner.token).json()
    server = model.get("servers", {}).get("")
    return bool(server and server.get("ready"))


def put_binary(hub: SunabaHub, learner: Learner, path: str, content: bytes) -> None:
    """Save a binary file (an image) in the learner's home through their own Jupyter server."""
    response = _put_file(hub, learner, path, base64.b64encode(content).decode("ascii"), "base64")
    response.raise_for_status()


def _put_file(
    hub: SunabaHub, learner: Learner, path: str, content: str, file_format: str = "text"
) -> requests.Response:
    headers = {"Authorization": f"token {learner.token}"}
    parts = path.split("/")
    for depth in range(1, len(parts)):
        folder = "/".join(parts[:depth])
        requests.put(
            f"{hub.url}/user/{learner.name}/api/contents/{folder}",
            headers=headers,
            json={"type": "directory"},
            timeout=60,
        )
    kind = "notebook" if path.endswith(".ipynb") else "file"
    body = {"type": kind, "format": "json" if kind == "notebook" else file_format}
    body["content"] = json.loads(content) if kind == "notebook" else content
    return requests.put(
        f"{hub.url}/user/{learner.name}/api/contents/{path}",
        headers=headers,
        json=body,
        timeout=60,
    )


def sunaba_cli(hub: SunabaHub, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SUNABA), "--config", str(hub.config_file), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


def send_over_kernel_socket(
    hub: SunabaHub, app_id: int, kernel_id: str, msg_type: str, content: dict, wait: float = 6
) -> list[dict]:
    """Send one message on an app kernel's websocket (through the showcase); return the replies
    that answer it (by parent msg_id) seen within `wait` seconds."""
    return asyncio.run(_send(hub, app_id, kernel_id, msg_type, content, wait))


async def _send(hub, app_id, kernel_id, msg_type, content, wait) -> list[dict]:
    from tornado.websocket import websocket_connect

    url = f"ws://127.0.0.1:{hub.port}/services/showcase/apps/{app_id}/api/kernels/{kernel_id}/channels"
    conn = await websocket_connect(url)
    msg_id = uuid.uuid4().hex
    conn.write_message(
        json.dumps(
            {
                "header": {
                    "msg_id": msg_id,
                    "username": "viewer",
                    "session": uuid.uuid4().hex,
                    "msg_type": msg_type,
                    "version": "5.3",
                },
                "parent_header": {},
                "metadata": {},
                "content": content,
                "channel": "shell",
                "buffers": [],
            }
        )
    )
    replies = []
    deadline = time.monotonic() + wait
    try:
        async for raw in messages_until(conn, deadline):
            if raw is None:
                break
            msg = json.loads(raw) if isinstance(raw, str) else {}
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                replies.append(msg)
    finally:
        conn.close()
    return replies


def ensure_spawned(hub: SunabaHub, learner: Learner, timeout: float = 180) -> None:
    """Start the learner's server. On a loaded machine JupyterHub 6 may answer a slow spawn with
    a 500 (InvalidStateError after its slow-spawn timeout) while the server still comes up, so
    readiness is what counts."""
    try:
        hub.spawn(learner, timeout=timeout)
        return
    except AssertionError:
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        model = hub.api("GET", f"/users/{learner.name}", token=learner.token).json()
        server = model.get("servers", {}).get("")
        if server and server.get("ready"):
            return
        if not server:
            hub.api("POST", f"/users/{learner.name}/server", token=learner.token)
        time.sleep(1)
    raise AssertionError(f"server of {learner.name} not ready:\n{hub.log_tail()}")
