"""Run code in a learner's kernel over a websocket through any URL (here: nginx with TLS)."""

from __future__ import annotations

import asyncio
import json
import ssl
import time
import uuid

from tests.support.kernel_protocol import execute_content, shell_message

# How often the first kernel_info_request is repeated until the kernel answers, as
# JupyterLab does: until then the server may still be wiring the kernel's channels to this
# websocket, and what the kernel publishes in that window never reaches the client.
HANDSHAKE_RETRY = 1.0


def execute(
    ws_url: str, headers: dict[str, str], code: str, ca_file: str, timeout: float = 60
) -> dict:
    """`headers` authenticate: a token, or a browser's cookies and Origin (which Jupyter checks
    against Host for cookie-authenticated websockets)."""
    return asyncio.run(_execute(ws_url, headers, code, ca_file, timeout))


def _message(msg_type: str, content: dict, session: str) -> tuple[str, str]:
    message = shell_message(msg_type, content, session=session, username="test")
    return message["header"]["msg_id"], json.dumps(message)


async def _read(conn, deadline: float, wait: float | None = None) -> dict | None:
    """The next message, None when the socket closed; TimeoutError past `deadline`."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the kernel did not answer in time")
    raw = await asyncio.wait_for(conn.read_message(), min(left, wait) if wait else left)
    return None if raw is None else json.loads(raw)


async def _handshake(conn, session: str, deadline: float) -> None:
    """Repeat kernel_info_request until one is answered: the channels are live from then on."""
    asked: set[str] = set()
    while True:
        msg_id, text = _message("kernel_info_request", {}, session)
        asked.add(msg_id)
        conn.write_message(text)
        retry_at = time.monotonic() + HANDSHAKE_RETRY
        while time.monotonic() < retry_at:
            try:
                msg = await _read(conn, deadline, retry_at - time.monotonic())
            except TimeoutError:
                if time.monotonic() >= deadline:
                    raise
                break
            if msg is None:
                raise ConnectionError("the kernel's websocket closed during the handshake")
            if (
                msg.get("msg_type") == "kernel_info_reply"
                and msg.get("parent_header", {}).get("msg_id") in asked
            ):
                return


async def _execute(ws_url, headers, code, ca_file, timeout) -> dict:
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    context = ssl.create_default_context(cafile=ca_file)
    request = HTTPRequest(ws_url, headers=headers, ssl_options=context)
    conn = await websocket_connect(request)
    deadline = time.monotonic() + timeout
    session = uuid.uuid4().hex
    outcome = {"status": None, "result": None, "stdout": ""}
    idle = False  # shell and iopub are separate channels: the reply may come before or after
    try:
        await _handshake(conn, session, deadline)
        msg_id, text = _message("execute_request", execute_content(code), session)
        conn.write_message(text)
        while True:
            msg = await _read(conn, deadline)
            if msg is None:
                break
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "execute_result":
                outcome["result"] = content["data"].get("text/plain")
            elif kind == "stream":
                outcome["stdout"] += content["text"]
            elif kind == "execute_reply":
                outcome["status"] = content["status"]
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
            if idle and outcome["status"]:
                break
    finally:
        conn.close()
    return outcome
