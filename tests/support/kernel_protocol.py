"""The Jupyter messaging protocol as a websocket client speaks it (JSON, no binary buffers)."""

from __future__ import annotations

import asyncio
import time
import uuid


def shell_message(msg_type: str, content: dict, *, session: str, username: str) -> dict:
    """A request on the shell channel; its `header.msg_id` is what the replies' parent is."""
    header = {
        "msg_id": uuid.uuid4().hex,
        "username": username,
        "session": session,
        "msg_type": msg_type,
        "version": "5.3",
    }
    return {
        "header": header,
        "parent_header": {},
        "metadata": {},
        "content": content,
        "channel": "shell",
        "buffers": [],
    }


def execute_content(code: str) -> dict:
    return {"code": code, "silent": False, "stop_on_error": True}


async def messages_until(conn, deadline: float):
    """What the websocket `conn` receives until `deadline` (time.monotonic()); a None, when it
    closes, is the last."""
    while time.monotonic() < deadline:
        try:
            raw = await asyncio.wait_for(conn.read_message(), deadline - time.monotonic())
        except TimeoutError:
            return
        yield raw
        if raw is None:
            return
