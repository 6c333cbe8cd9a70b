"""Verdicts while autograding, made outside the learner's kernel.

In a grading sandbox the kernel never sees the graders: `assert_check` and `check` send the
answer as data (the wire format of `sunaba.checks.wire`: JSON and Arrow, never pickle) over a
unix socket to a judge process that runs as another uid, with this course's graders, in a
filesystem view of its own. The judge answers with the verdict and, before answering, appends
it to a record the sandbox cannot reach (a descriptor the trusted parent opened). Scores come
from that record, never from what the kernel printed.

Frames in both directions: a 4-byte big-endian length, then that many bytes of UTF-8 JSON.
The client half (`ask`) runs in learners' kernels: standard library only.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import time
from pathlib import Path

from sunaba.checks.grader import QUESTION, GraderDirectory, GraderError
from sunaba.checks.wire import AnswerRefused, decode_answer

SOCKET_ENV = "SUNABA_JUDGE_SOCKET"
HEADER = struct.Struct(">I")
MAX_REQUEST = 64 << 20  # bytes of one request (the encoded answer and the question)
MAX_REPLY = 1 << 20
MAX_REQUESTS = 5000  # per judge, that is per submission
READ_TIMEOUT = 60  # seconds a connection may take to send its request
UNKNOWN = "?"

UNAVAILABLE = "採点用の判定プロセスに接続できませんでした（不合格）"
MALFORMED = "判定の依頼が読めませんでした（不合格）"
TOO_MANY = "判定の依頼が多すぎます（上限 {limit} 回）。これ以上は判定しません（不合格）"
FAILED = "判定の途中でエラーが起きました（不合格）"


class JudgeUnavailable(RuntimeError):
    """No verdict could be obtained; the message is Japanese, for the learner."""


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise ConnectionError("connection closed early")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame(sock: socket.socket, limit: int) -> dict:
    (size,) = HEADER.unpack(_read_exactly(sock, HEADER.size))
    if size > limit:
        raise ValueError("frame too large")
    value = json.loads(_read_exactly(sock, size).decode("utf-8"))
    if not isinstance(value, dict):
        raise ValueError("frame is not an object")
    return value


def write_frame(sock: socket.socket, value: dict) -> None:
    data = json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
    sock.sendall(HEADER.pack(len(data)) + data)


# ----------------------------------------------------------------------------------------------
# The kernel's side


def ask(path: str, question: str, encoded_answer: dict) -> dict:
    """{"ok": bool, "messages": [...]} from the judge at `path`; JudgeUnavailable otherwise."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(600)
            sock.connect(path)
            write_frame(sock, {"question": str(question), "answer": encoded_answer})
            reply = read_frame(sock, MAX_REPLY)
    except (OSError, ValueError) as exc:
        raise JudgeUnavailable(UNAVAILABLE) from exc
    messages = reply.get("messages")
    if not isinstance(messages, list):
        raise JudgeUnavailable(MALFORMED)
    return {"ok": reply.get("ok") is True, "messages": [str(m) for m in messages]}


# ----------------------------------------------------------------------------------------------
# The judge's side (a process of its own, already in its sandbox and as its own uid)


def _verdict(graders, course: str, assignment: str, request: dict) -> tuple[str, bool, list]:
    question = request.get("question")
    if not isinstance(question, str) or not QUESTION.match(question):
        return UNKNOWN, False, [MALFORMED]
    try:
        value = decode_answer(request.get("answer"))
        judged = graders.question(course, assignment, question).judge(value)
    except (GraderError, AnswerRefused) as exc:
        return question, False, [str(exc)]
    except Exception:  # an odd answer must never stop the judge, nor pass
        return question, False, [FAILED]
    return question, bool(judged.ok), [str(m) for m in judged.messages]


def _peer_uid(sock: socket.socket) -> int:
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("iII"))
    return struct.unpack("iII", creds)[1]  # pid, uid, gid (uids may pass 2**31)


def _record(record_fd: int, question: str, ok: bool, messages: list[str], received: int) -> None:
    line = {"t": received, "question": question, "ok": ok, "message": " / ".join(messages)}
    data = (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8")
    while data:
        data = data[os.write(record_fd, data) :]


def serve(
    listener: socket.socket,
    record_fd: int,
    *,
    kernel_uid: int,
    graders_root: str,
    course: str,
    assignment: str,
) -> None:
    """Answer the kernel's requests one at a time, for as long as the sandbox lives. Only
    connections from `kernel_uid` are answered. Every answer is recorded before it is sent."""
    graders = GraderDirectory(Path(graders_root))
    served = 0
    while True:
        conn, _ = listener.accept()
        with conn:
            try:
                if _peer_uid(conn) != kernel_uid:
                    continue
                conn.settimeout(READ_TIMEOUT)
                request = read_frame(conn, MAX_REQUEST)
            except (OSError, ValueError):
                continue
            received = time.monotonic_ns()
            served += 1
            if served > MAX_REQUESTS:
                question = request.get("question")
                question = question if isinstance(question, str) else UNKNOWN
                outcome = (question[:40], False, [TOO_MANY.format(limit=MAX_REQUESTS)])
            else:
                outcome = _verdict(graders, course, assignment, request)
            _record(record_fd, *outcome, received)
            try:
                conn.settimeout(READ_TIMEOUT)
                write_frame(conn, {"ok": outcome[1], "messages": outcome[2]})
            except (OSError, ValueError):
                continue
