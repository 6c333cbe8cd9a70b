"""The judge's socket protocol, in-process: verdicts answered and recorded, strangers and
malformed requests refused without a record (the real judge runs as another uid, see
tests/integration/grading/test_judge_attacks.py)."""

from __future__ import annotations

import json
import os
import socket
import struct
import threading

import pytest

from sunaba.checks import judge_service
from sunaba.checks.judge_service import JudgeUnavailable, ask, serve
from sunaba.checks.wire import encode_answer

GRADER = """
from sunaba.checks.grader import Question

QUESTIONS = [Question("q1", expected=lambda: 7919)]
"""


def _judge(tmp_path, kernel_uid: int):
    (tmp_path / "graders" / "c").mkdir(parents=True)
    (tmp_path / "graders" / "c" / "a.py").write_text(GRADER)
    path = str(tmp_path / "judge.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(4)
    record = tmp_path / "record.jsonl"
    fd = os.open(record, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    kwargs = {"kernel_uid": kernel_uid, "graders_root": str(tmp_path / "graders")}
    thread = threading.Thread(
        target=serve, args=(listener, fd), kwargs={**kwargs, "course": "c", "assignment": "a"}
    )
    thread.daemon = True
    thread.start()
    return path, record


def _records(record) -> list[dict]:
    return [json.loads(line) for line in record.read_text().splitlines()]


def test_verdicts_are_answered_and_recorded_in_order(tmp_path):
    path, record = _judge(tmp_path, os.getuid())
    assert ask(path, "q1", encode_answer(7919)) == {"ok": True, "messages": []}
    wrong = ask(path, "q1", encode_answer(7918))
    assert wrong["ok"] is False and wrong["messages"]
    assert ask(path, "q9", encode_answer(1))["ok"] is False  # no such question
    refused = ask(path, "q1", {"kind": "pickle", "data": "gASVAAAAAAAAAAA="})
    assert refused["ok"] is False and "pickle" in refused["messages"][0]
    records = _records(record)
    assert [(r["question"], r["ok"]) for r in records] == [
        ("q1", True),
        ("q1", False),
        ("q9", False),
        ("q1", False),
    ]
    assert records[0]["t"] < records[1]["t"] < records[2]["t"]
    assert "7919" not in record.read_text()


def test_strangers_and_malformed_requests_get_no_verdict(tmp_path, monkeypatch):
    path, record = _judge(tmp_path, os.getuid() + 1)
    with pytest.raises(JudgeUnavailable):
        ask(path, "q1", encode_answer(7919))
    assert record.read_text() == ""

    path2, record2 = _judge(tmp_path / "second", os.getuid())
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path2)
        sock.sendall(struct.pack(">I", judge_service.MAX_REQUEST + 1))
        assert sock.recv(10) == b""  # closed without a reply
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path2)
        sock.sendall(struct.pack(">I", 5) + b"[1,2]")
        assert sock.recv(10) == b""
    assert ask(path2, "../../etc", encode_answer(1))["ok"] is False
    assert _records(record2) == [
        {
            "t": _records(record2)[0]["t"],
            "question": "?",
            "ok": False,
            "message": judge_service.MALFORMED,
        }
    ]


def test_past_the_request_limit_every_verdict_fails(tmp_path, monkeypatch):
    monkeypatch.setattr(judge_service, "MAX_REQUESTS", 1)
    path, record = _judge(tmp_path, os.getuid())
    assert ask(path, "q1", encode_answer(7919))["ok"] is True
    assert ask(path, "q1", encode_answer(7919))["ok"] is False
    assert [r["ok"] for r in _records(record)] == [True, False]
