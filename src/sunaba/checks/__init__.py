"""Instant checks in a notebook: `from sunaba.checks import check, hint`.

    check("q1", answer)   # ✓ or ✗ with a Japanese explanation of what differs
    hint("q1")            # the next hint, from gentle to explicit

The answer goes to the hub's check service with this server's own hub token; the expected
values and the check logic stay on the hub side. This module runs in learners' kernels: it
imports only the standard library until an answer needs more.
"""

from __future__ import annotations

import html
import http.client
import json
import os
import urllib.error
import urllib.parse
import urllib.request

# The hub-service lookup shared with the exchange client (standard library only, like this).
from sunaba.exchange.client import ServiceNotFound, find_service

__all__ = ["check", "hint", "set_exercise", "assert_check"]

SERVICE = "sunaba-checks"
_exercise: dict[str, str] = {}
_service_url: list[str] = []
_limits_cache: list[dict] = []


class CheckUnavailable(RuntimeError):
    """The check could not be made; the message is Japanese, for the learner."""


def set_exercise(course: str, assignment: str) -> None:
    """Say which course and assignment the following checks belong to, when the notebook's
    folder does not tell it (for example a copy saved elsewhere)."""
    _exercise.clear()
    _exercise.update(course=str(course), assignment=str(assignment))


def _opener():
    # Loopback traffic to the hub's service: never through a proxy from the environment.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _token() -> str:
    token = os.environ.get("JUPYTERHUB_API_TOKEN", "")
    if not token:
        raise CheckUnavailable(
            "ハブのトークンがありません。確認はハブ上のノートブックからだけ使えます"
        )
    return token


_DISCOVERY_MESSAGES = {
    ServiceNotFound.NO_API: "ハブの API の場所が分かりません",
    ServiceNotFound.FORBIDDEN: (
        "確認機能を使う権限がありません（確認のあるコースに登録されていません）"
    ),
    ServiceNotFound.HUB_ERROR: "ハブに問い合わせできません（HTTP {status}）",
    ServiceNotFound.UNREACHABLE: "ハブに接続できません",
    ServiceNotFound.NOT_RUNNING: "確認サービスが動いていません。講師に連絡してください",
}


def _discover(token: str) -> str:
    if _service_url:
        return _service_url[0]
    try:
        base = find_service(SERVICE, token)
    except ServiceNotFound as exc:
        message = _DISCOVERY_MESSAGES[exc.reason].format(status=exc.status)
        raise CheckUnavailable(message) from exc
    _service_url.append(base)
    return base


def _send(url: str, token: str, data: bytes | None = None) -> dict:
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")  # noqa: S310
    request.add_header("Authorization", f"token {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json; charset=utf-8")
    try:
        with _opener().open(request, timeout=120) as response:
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read().decode("utf-8"))["message"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            message = f"確認サービスがエラーを返しました（HTTP {exc.code}）"
        raise CheckUnavailable(message) from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise _service_down() from exc


def _service_down() -> CheckUnavailable:
    """No answer, or one cut short: the service is stopped or being restarted by the hub. The
    learner only has to wait and run the cell again; the kernel keeps everything."""
    return CheckUnavailable(
        "確認サービスが一時的に使えません。少し待ってから、このセルをもう一度実行してください"
    )


def _limits(base: str, token: str) -> dict:
    if not _limits_cache:
        _limits_cache.append(_send(urllib.parse.urljoin(base, "api/limits"), token))
    return _limits_cache[0]


def _call(path: str, body: dict) -> dict:
    token = _token()
    data = json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")
    base = _discover(token).rstrip("/") + "/"
    limits = _limits(base, token)
    if len(data) > int(limits.get("max_answer_bytes", len(data))):
        raise CheckUnavailable(
            f"答えが大きすぎます（上限 {limits.get('max_answer_size')}）。"
            "表なら必要な列と行だけにしてから確かめてください"
        )
    return _send(urllib.parse.urljoin(base, path), token, data)


def _request(question: str) -> dict:
    # Imported on first use: `import sunaba.checks` in a learner's kernel stays light.
    from sunaba.checks.wire import FORMAT

    return {
        "format": FORMAT,
        "question": str(question),
        "notebook": os.environ.get("JPY_SESSION_NAME", ""),
        **_exercise,
    }


class Feedback:
    """What the learner sees: a mark, a title and explanations (HTML in JupyterLab)."""

    def __init__(self, mark: str, title: str, lines: list[str], colour: str):
        self.mark, self.title, self.lines, self.colour = mark, title, lines, colour

    def __repr__(self) -> str:
        return "\n".join([f"{self.mark} {self.title}", *(f"  ・{line}" for line in self.lines)])

    def _repr_html_(self) -> str:
        items = "".join(f"<li>{html.escape(line)}</li>" for line in self.lines)
        return (
            f'<div class="sunaba-check" style="border-left:4px solid {self.colour};'
            f'padding:4px 10px;margin:4px 0">'
            f'<strong style="color:{self.colour}">{self.mark} {html.escape(self.title)}</strong>'
            f"{f'<ul>{items}</ul>' if items else ''}</div>"
        )


def _show(feedback: Feedback) -> None:
    try:
        from IPython.display import display
    except ImportError:
        print(repr(feedback))
        return
    display(feedback)


def check(question: str, answer) -> None:
    """Check `answer` to question `question`; shows ✓ or ✗ and what differs."""
    # Imported on first use: `import sunaba.checks` in a learner's kernel stays light.
    from sunaba.checks.wire import AnswerRefused, encode_answer

    try:
        if os.environ.get("NBGRADER_EXECUTION") == "autograde":
            result = _judge_here(question, answer)
        else:
            body = _request(question)
            body["answer"] = encode_answer(answer)
            result = _call("api/check", body)
    except (CheckUnavailable, AnswerRefused) as exc:
        _show(Feedback("⚠", f"{question}: 確かめられませんでした", [str(exc)], "#b26b00"))
        return
    if result.get("ok"):
        _show(Feedback("✓", f"{question}: 正解です", [], "#2e7d32"))
    else:
        lines = list(result.get("messages") or []) + [f'ヒントは hint("{question}") で見られます']
        _show(Feedback("✗", f"{question}: まだ違います", lines, "#c62828"))


def _judge_here(question: str, answer) -> dict:
    """While autograding there is no network and no hub: judge with the graders the grading
    sandbox shows, so the notebook's own check cells agree with its grade."""
    # Only the grader's kernel judges here; learners' kernels never load the judge.
    from sunaba.checks.autograde import verdict

    try:
        judged = verdict(question, answer)
    except Exception as exc:  # a grader missing here must not stop the notebook
        raise CheckUnavailable(str(exc)) from exc
    return {"ok": judged.ok, "messages": list(judged.messages)}


def hint(question: str) -> None:
    """Show the next hint for `question`, from gentle to explicit."""
    try:
        result = _call("api/hint", _request(question))
    except CheckUnavailable as exc:
        _show(Feedback("⚠", f"{question}: ヒントを出せませんでした", [str(exc)], "#b26b00"))
        return
    level, total = result.get("level"), result.get("total")
    title = f"{question} のヒント（{level}/{total}）" if total else f"{question} のヒント"
    _show(Feedback("ℹ", title, [str(result.get("hint", ""))], "#1565c0"))


def assert_check(question: str, answer, **where) -> None:
    """For autograder cells: the same judgement as `check`, as an assertion."""
    # Only the grader's kernel judges here; learners' kernels never load the judge.
    from sunaba.checks.autograde import assert_check as judge_here

    judge_here(question, answer, **where)
