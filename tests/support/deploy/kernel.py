"""Run code in a learner's kernel over a websocket through any URL (here: nginx with TLS)."""

from __future__ import annotations

import asyncio
import json
import ssl
import uuid


def execute(
    ws_url: str, headers: dict[str, str], code: str, ca_file: str, timeout: float = 60
) -> dict:
    """`headers` authenticate: a token, or a browser's cookies and Origin (which Jupyter checks
    against Host for cookie-authenticated websockets)."""
    return asyncio.run(_execute(ws_url, headers, code, ca_file, timeout))


async def _execute(ws_url, headers, code, ca_file, timeout) -> dict:
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    context = ssl.create_default_context(cafile=ca_file)
    request = HTTPRequest(ws_url, headers=headers, ssl_options=context)
    conn = await websocket_connect(request)
    msg_id = uuid.uuid4().hex
    conn.write_message(
        json.dumps(
            {
                "header": {
                    "msg_id": msg_id,
                    "username": "test",
                    "session": uuid.uuid4().hex,
                    "msg_type": "execute_request",
                    "version": "5.3",
                },
                "parent_header": {},
                "metadata": {},
                "content": {"code": code, "silent": False, "stop_on_error": True},
                "channel": "shell",
                "buffers": [],
            }
        )
    )
    outcome = {"status": None, "result": None, "stdout": ""}
    try:
        while True:
            raw = await asyncio.wait_for(conn.read_message(), timeout)
            if raw is None:
                break
            msg = json.loads(raw)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "execute_result":
                outcome["result"] = content["data"].get("text/plain")
            elif kind == "stream":
                outcome["stdout"] += content["text"]
            elif kind == "execute_reply":
                outcome["status"] = content["status"]
            elif kind == "status" and content["execution_state"] == "idle" and outcome["status"]:
                break
    finally:
        conn.close()
    return outcome
