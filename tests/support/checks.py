"""A grader course for the check tests, written to a directory the tests own.

Its expected values are distinctive, so that a test can search every response for them.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.support.kernel_protocol import execute_content, shell_message

COURSE = "chk-demo"
ASSIGNMENT = "ex01"
SECRET_NUMBER = 7392.615
SECRET_WORD = "ひみつの答え"
SECRET_TOTAL = 918273

GRADER = textwrap.dedent(
    """
    import pandas as pd

    from sunaba.checks.grader import Question
    from sunaba.checks.judge import Verdict
    from sunaba.checks.wire import Figure


    def population():
        return pd.DataFrame(
            {
                "市区町村": ["北区", "南区", "東区", "西区"],
                "人口": [918273, 120004, 33333, 45678],
                "面積": [12.5, 8.25, 3.75, 9.0],
            }
        )


    def title_is_set(answer):
        if not isinstance(answer, Figure) or not answer.axes or not answer.axes[0]["title"]:
            return Verdict.failed("グラフにタイトルを付けてください")
        return Verdict.passed()


    QUESTIONS = [
        Question(
            "q1",
            expected=lambda: 7392.615,
            rel_tol=1e-6,
            hints=["平均を求めます", "mean() を使います", "df['値'].mean() です"],
        ),
        Question("q2", expected=population, ignore_index=True, hints=["列は 3 つです"]),
        Question("q3", expected=lambda: ["ひみつの答え", 918273]),
        Question("q4", expected=lambda: Figure({"axes": [{"bars": [1, 2, 3], "title": "x"}]})),
        Question("q5", check=title_is_set),
    ]
    """
)


def write_graders(root: Path) -> Path:
    folder = root / COURSE
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{ASSIGNMENT}.py").write_text(GRADER, encoding="utf-8")
    return root


def right_population():
    import pandas as pd

    return pd.DataFrame(
        {
            "市区町村": ["北区", "南区", "東区", "西区"],
            "人口": [918273, 120004, 33333, 45678],
            "面積": [12.5, 8.25, 3.75, 9.0],
        }
    )


def run_in_kernel(hub, learner, code: str, timeout: float = 90) -> dict:
    """Run code in the learner's kernel; done when both the reply and the idle status arrived,
    in whichever order the server forwards them."""
    import asyncio

    if not learner.kernel:
        learner.kernel = hub.start_kernel(learner)
    return asyncio.run(_run(hub, learner, code, timeout))


async def _run(hub, learner, code: str, timeout: float) -> dict:
    import asyncio
    import json
    import time
    import uuid

    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    url = f"ws://127.0.0.1:{hub.port}/user/{learner.name}/api/kernels/{learner.kernel}/channels"
    conn = await websocket_connect(
        HTTPRequest(url, headers={"Authorization": f"token {learner.token}"})
    )
    request = shell_message(
        "execute_request", execute_content(code), session=uuid.uuid4().hex, username=learner.name
    )
    msg_id = request["header"]["msg_id"]
    conn.write_message(json.dumps(request))
    outcome = {"status": None, "stdout": "", "error": None}
    idle = False
    deadline = time.monotonic() + timeout
    try:
        while not (idle and outcome["status"]) and time.monotonic() < deadline:
            raw = await asyncio.wait_for(conn.read_message(), deadline - time.monotonic())
            if raw is None:
                outcome["status"] = "disconnected"
                break
            msg = json.loads(raw)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream" and content["name"] == "stdout":
                outcome["stdout"] += content["text"]
            elif kind == "error":
                outcome["error"] = f"{content['ename']}: {content['evalue']}"
            elif kind == "execute_reply":
                outcome["status"] = content["status"]
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
    finally:
        conn.close()
    return outcome
