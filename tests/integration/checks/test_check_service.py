"""The check service on a real hub: a learner's kernel checks answers and asks for hints, and
the attacks a learner could try from their kernel fail. Records go to the real PostgreSQL."""

from __future__ import annotations

import json
import os
import pickle
import re
import secrets
import shutil
import socket
import textwrap
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.support.checks import (
    ASSIGNMENT,
    COURSE,
    SECRET_NUMBER,
    SECRET_TOTAL,
    SECRET_WORD,
    run_in_kernel,
    write_graders,
)
from tests.support.hub import PREFIX, SunabaHub
from tests.support.postgres import create_database, drop_database, new_database_name

SECRETS = [str(SECRET_NUMBER), str(SECRET_TOTAL), SECRET_WORD, "7392.6", "120004", "南区"]
RATE_LIMIT = 40
REPO_GRADERS = Path(__file__).resolve().parents[3] / "graders"
DEMO_COURSE = "chk-opendata"


class World:
    hub: SunabaHub
    graders: Path
    records_url: str
    alice: object
    bob: object
    server_token: str

    @property
    def service(self) -> str:
        return f"{self.hub.url}/services/sunaba-checks/api"

    def post(self, path: str, body, token: str, headers=None) -> requests.Response:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return requests.post(
            f"{self.service}/{path}",
            data=data,
            headers={"Authorization": f"token {token}", **(headers or {})},
            timeout=60,
        )

    def kernel(self, code: str) -> dict:
        outcome = run_in_kernel(self.hub, self.alice, textwrap.dedent(code))
        assert outcome["status"] == "ok", outcome["error"]
        return outcome


def body(question: str, answer, **extra) -> dict:
    return {
        "format": "sunaba-check/1",
        "question": question,
        "course": COURSE,
        "assignment": ASSIGNMENT,
        "answer": answer,
        **extra,
    }


@pytest.fixture(scope="module")
def world(artifacts):
    if os.geteuid() != 0:
        pytest.fail("integration tests create Unix users: run them as root (make test)")
    found = World()
    tag = secrets.token_hex(4)
    found.graders = Path(f"/tmp/sunaba-checks-test-{tag}")
    found.graders.mkdir(mode=0o700)
    write_graders(found.graders)
    # The demo course's real graders, whose expected values come from the datasets, under a
    # course id of this test's own (the courses area keeps the real course's groups in line).
    shutil.copytree(REPO_GRADERS / "opendata-intro", found.graders / DEMO_COURSE)
    database = new_database_name()
    found.records_url = create_database(database)
    hub = None
    try:
        hub = SunabaHub(
            extra={
                "checks": {
                    "graders": str(found.graders),
                    "max_answer_size": "2M",
                    "rate_limit": RATE_LIMIT,
                },
                "records": {"db_url": found.records_url},
            }
        )
        found.hub = hub
        hub.start()
        found.alice = hub.new_learner("alice")
        found.bob = hub.new_learner("bob")
        for course in (COURSE, DEMO_COURSE):
            added = hub.api("POST", f"/groups/nbgrader-{course}/users", json={"users": ["alice"]})
            assert added.ok, added.text
        hub.spawn(found.alice)
        outcome = run_in_kernel(
            hub, found.alice, "import os; print(os.environ['JUPYTERHUB_API_TOKEN'])"
        )
        found.server_token = outcome["stdout"].strip()
        assert found.server_token
        yield found
    finally:
        if hub is not None:
            # Kept for reading after a failure; the hub's state dir goes with close().
            (artifacts / "checks-hub.log").write_text(hub.log_tail(2000), encoding="utf-8")
            hub.close()
        shutil.rmtree(found.graders, ignore_errors=True)
        drop_database(database)


def test_check_and_hint_in_the_learners_kernel(world):
    outcome = world.kernel(
        f"""
        import os
        from IPython.utils.capture import capture_output
        import pandas as pd
        from sunaba.checks import check, hint

        # As for a notebook opened from the course's fetched folder.
        os.environ["JPY_SESSION_NAME"] = "{COURSE}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
        right = pd.DataFrame({{
            "市区町村": ["北区", "南区", "東区", "西区"],
            "人口": [918273, 120004, 33333, 45678],
            "面積": [12.5, 8.25, 3.75, 9.0],
        }})
        wrong = right.copy()
        wrong.loc[[1, 3], "人口"] = 0
        with capture_output() as shown:
            check("q1", {SECRET_NUMBER})
            check("q1", 12.0)
            check("q2", right)
            check("q2", wrong)
            check("q2", right.astype({{"人口": str}}))
            hint("q1")
            hint("q1")
        import sunaba
        print("client", sunaba.__file__)
        for output in shown.outputs:
            print("----")
            print(output.data["text/plain"])
            assert "text/html" in output.data
        """
    )
    # The kernel imports the client installed in the runtime prefix, not a checkout.
    assert f"client {PREFIX}/venv/lib/" in outcome["stdout"]
    shown = outcome["stdout"].split("----\n")[1:]
    assert len(shown) == 7, outcome
    assert shown[0].startswith("✓ q1: 正解です")
    assert shown[1].startswith("✗ q1: まだ違います") and "数値が違います" in shown[1]
    assert 'hint("q1")' in shown[1]
    assert shown[2].startswith("✓ q2")
    assert "2 行の値が違います（行: 1、3）" in shown[3] and "違いのある列: 人口" in shown[3]
    assert "列の型が違います: 人口" in shown[4]
    assert "ヒント（1/3）" in shown[5] and "平均を求めます" in shown[5]
    assert "ヒント（2/3）" in shown[6] and "mean() を使います" in shown[6]
    for text_shown in shown[1:5]:
        for secret in SECRETS:
            assert secret not in text_shown


def test_explicit_exercise_and_clear_messages_in_the_kernel(world):
    outcome = world.kernel(
        f"""
        import os
        from IPython.utils.capture import capture_output
        from sunaba.checks import check, set_exercise

        os.environ["JPY_SESSION_NAME"] = "somewhere/else.ipynb"
        with capture_output() as shown:
            check("q1", 1)
            set_exercise("{COURSE}", "{ASSIGNMENT}")
            check("q3", ["{SECRET_WORD}", {SECRET_TOTAL}])
            check("q9", 1)
            check("q1", object())
            check("q2", "x" * 3_000_000)
        for output in shown.outputs:
            print("----")
            print(output.data["text/plain"])
        """
    )
    shown = outcome["stdout"].split("----\n")[1:]
    assert "set_exercise" in shown[0]
    assert shown[1].startswith("✓ q3")
    assert "問題「q9」はありません" in shown[2]
    assert "この種類の値" in shown[3]
    assert "答えが大きすぎます（上限 2M）" in shown[4]


def test_demo_course_checked_against_the_datasets(world):
    outcome = world.kernel(
        f"""
        from IPython.utils.capture import capture_output
        from sunaba.checks import check, set_exercise
        from sunaba.datasets import Catalogue, read_csv_ja

        catalogue = Catalogue()
        city = catalogue.get("sunaba-city")
        PATH = catalogue.find_file(city, city.resource("population"))
        set_exercise("{DEMO_COURSE}", "read-csv")
        with capture_output() as shown:
            check("q1", read_csv_ja(PATH, dtype={{"地域コード": str, "町字ID": str}}, quiet=True))
            check("q1", read_csv_ja(PATH, quiet=True))
        for output in shown.outputs:
            print("----")
            print(output.data["text/plain"])
        """
    )
    shown = outcome["stdout"].split("----\n")[1:]
    assert shown[0].startswith("✓ q1: 正解です"), outcome
    assert "列の型が違います: 地域コード" in shown[1]


def test_raw_responses_never_carry_expected_values(world):
    token = world.server_token
    answers = [
        ("q1", {"kind": "json", "value": 1.5}),
        ("q1", {"kind": "json", "value": "7392"}),
        ("q3", {"kind": "json", "value": ["ちがう", 1]}),
        ("q3", {"kind": "json", "value": []}),
        ("q4", {"kind": "figure", "value": {"axes": []}}),
        ("q5", {"kind": "figure", "value": {"axes": [{"title": ""}]}}),
        ("q2", {"kind": "json", "value": None}),
    ]
    for question, answer in answers:
        response = world.post("check", body(question, answer), token)
        assert response.status_code == 200, response.text
        assert response.json()["ok"] is False
        for secret in SECRETS:
            assert secret not in response.text, (question, response.text)
        assert response.headers["Content-Type"].startswith("application/json")


def test_every_check_and_hint_is_recorded(world):
    engine = create_engine(world.records_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT login, course, assignment, question, kind, result, hint_level "
                    "FROM check_events WHERE login = 'alice' ORDER BY id"
                )
            ).all()
    finally:
        engine.dispose()
    assert rows[:7] == [
        ("alice", COURSE, ASSIGNMENT, "q1", "check", "pass", None),
        ("alice", COURSE, ASSIGNMENT, "q1", "check", "fail", None),
        ("alice", COURSE, ASSIGNMENT, "q2", "check", "pass", None),
        ("alice", COURSE, ASSIGNMENT, "q2", "check", "fail", None),
        ("alice", COURSE, ASSIGNMENT, "q2", "check", "fail", None),
        ("alice", COURSE, ASSIGNMENT, "q1", "hint", "hint", 1),
        ("alice", COURSE, ASSIGNMENT, "q1", "hint", "hint", 2),
    ]


def test_graders_are_not_readable_from_the_kernel(world):
    outcome = world.kernel(
        f"""
        import os
        for path in ("{world.graders}/{COURSE}/{ASSIGNMENT}.py", "{world.graders}"):
            try:
                print(open(path).read() if path.endswith(".py") else os.listdir(path))
            except OSError as exc:
                print("refused", type(exc).__name__)
        print("env", [k for k in os.environ if "GRADER" in k or "CHECKS" in k])
        found = []
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    found.append(open(f"/proc/{{pid}}/cmdline", "rb").read())
                except OSError:
                    pass
        print("service visible", any(b"sunaba.checks.service" in c for c in found))
        """
    )
    assert outcome["stdout"].count("refused") == 2, outcome
    assert "env []" in outcome["stdout"]
    assert "service visible False" in outcome["stdout"]
    assert "QUESTIONS" not in outcome["stdout"]


def test_nobody_checks_as_someone_else(world):
    # A member cannot make the service believe they are someone else.
    spoof = body("q1", {"kind": "json", "value": 0}, user="bob", login="bob", name="bob")
    response = world.post("check", spoof, world.server_token, headers={"X-Forwarded-User": "bob"})
    assert response.status_code == 200
    # bob, not in the course, is refused with his own token, even naming the course.
    for path in ("check", "hint"):
        refused = world.post(path, body("q1", {"kind": "json", "value": 0}), world.bob.token)
        assert refused.status_code == 403, refused.text
        assert (
            "権限がありません" in refused.json()["message"]
            or "登録されていません" in (refused.json()["message"])
        )
    # No token, a made-up token, a token in the body: all refused.
    assert (
        world.post("check", body("q1", {"kind": "json", "value": 0}), "x" * 40).status_code == 403
    )
    anonymous = requests.post(
        f"{world.service}/check",
        json=body("q1", {"kind": "json", "value": 0}, token=world.server_token),
        timeout=30,
        allow_redirects=False,
    )
    assert anonymous.status_code == 403, anonymous.text
    engine = create_engine(world.records_url)
    try:
        with engine.connect() as connection:
            logins = {r[0] for r in connection.execute(text("SELECT login FROM check_events"))}
    finally:
        engine.dispose()
    assert "bob" not in logins


def test_pickled_payloads_are_refused_and_never_loaded(world):
    marker = Path(f"/tmp/sunaba-checks-pwned-{secrets.token_hex(4)}")

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    blob = pickle.dumps(Payload())
    raw = world.post("check", blob, world.server_token)
    assert raw.status_code == 400
    assert "pickle" in raw.json()["message"]
    wrapped = body("q1", {"kind": "pickle", "data": blob.hex()})
    response = world.post("check", wrapped, world.server_token)
    assert response.status_code == 400 and "pickle" in response.json()["message"]
    as_table = body("q2", {"kind": "dataframe", "arrow": blob.hex()})
    response = world.post("check", as_table, world.server_token)
    assert response.status_code == 400 and "Arrow" in response.json()["message"]
    assert not marker.exists()


def test_malformed_requests_get_clear_messages(world):
    cases = [
        (b"\xff\xfe", 400, "JSON ではありません"),
        ({"question": "q1"}, 400, "形式が正しくありません"),
        ({"format": "sunaba-check/1", "question": 1}, 400, "文字列で指定"),
        (body("q1", None), 400, "答えの形式"),
        (body("../../etc/passwd", {"kind": "json", "value": 1}), 404, "問題の名前"),
        (body("q1", {"kind": "json", "value": 1}, course="other"), 403, "登録されていません"),
    ]
    for payload, status, words in cases:
        response = world.post("check", payload, world.server_token)
        assert response.status_code == status, (payload, response.text)
        assert words in response.json()["message"]


def service_pid(world) -> int:
    """The check service of this test's hub (other hubs may run on the machine)."""
    marker = f"SUNABA_CHECKS_GRADERS={world.graders}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            if b"sunaba.checks.service" in cmdline and marker in (entry / "environ").read_bytes():
                return int(entry.name)
        except OSError:
            continue
    raise AssertionError("check service process not found")


def peak_memory(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def test_a_500_megabyte_payload_is_refused_before_it_is_read(world):
    # Straight to the service's own address, as a kernel would send it.
    # The address the hub started it at (a derived port may have moved on if it was taken).
    log = (world.hub.state_dir / "logs" / "jupyterhub.log").read_text()
    started = re.findall(r"Starting managed service sunaba-checks at (\S+)", log)
    assert started, "the hub never started the check service"
    url = urlsplit(started[-1])
    path = "/services/sunaba-checks/api/check"
    pid = service_pid(world)
    size = 500 * 1024 * 1024
    sent = 0
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Authorization: token {world.server_token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {size}\r\n\r\n"
        )
        sock.sendall(head.encode())
        chunk = b"[" * (1 << 20)
        try:
            while sent < size:
                sock.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass  # the service hung up on it
        reply = b""
        try:
            while data := sock.recv(65536):
                reply += data
        except OSError:
            pass
    assert sent < size, "the whole 500 MB body was taken in"
    if reply:
        assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
        assert "答えが大きすぎます".encode() in reply
    assert peak_memory(pid) < 400 * 1024 * 1024
    # The service is unharmed and answers the next call at once.
    right = body("q1", {"kind": "json", "value": SECRET_NUMBER})
    after = world.post("check", right, world.server_token)
    assert after.status_code == 200 and after.json()["ok"] is True
    assert service_pid(world) == pid


def test_rate_limit_per_user(world):
    carol = world.hub.new_learner("carol")
    added = world.hub.api("POST", f"/groups/nbgrader-{COURSE}/users", json={"users": ["carol"]})
    assert added.ok
    statuses = [
        world.post("hint", body("q1", None), carol.token).status_code for _ in range(RATE_LIMIT + 1)
    ]
    assert statuses[:RATE_LIMIT] == [200] * RATE_LIMIT
    limited = world.post("hint", body("q1", None), carol.token)
    assert limited.status_code == 429 and "回数が多すぎます" in limited.json()["message"]
    # Other learners are not slowed down by carol.
    assert world.post("hint", body("q1", None), world.server_token).status_code == 200


def test_a_stopped_servers_token_cannot_be_replayed(world):
    world.hub.stop_server(world.alice)
    # The hub deletes the server's token right after the server is gone.
    deadline = time.monotonic() + 15
    status = 0
    while time.monotonic() < deadline:
        status = world.post("check", body("q1", {"kind": "json", "value": 1}), world.server_token)
        status = status.status_code
        if status == 403:
            break
        time.sleep(0.5)
    assert status == 403
