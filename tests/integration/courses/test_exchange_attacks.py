"""Attacks on courses that must fail: from learners' tokens, kernels and crafted HTTP requests.

The victim is dee (kiso), who has a graded submission with released feedback; the attackers
are bob (also in kiso) and cat (only in oyo).
"""

from __future__ import annotations

import http.client
import io
import json
import socket
import tarfile
from urllib.parse import urlparse

import pytest
import requests
from jupyterhub.services.auth import HubAuth

from sunaba.core.layout import CoursePaths, grading_root
from sunaba.grading import cycle
from sunaba.hub.service_auth import FreshHubAuth, FreshHubOAuth
from tests.support.courses import HIDDEN_MARK, tar_of

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def victim(sqlite_world):
    """dee has submitted kiso/hw1, and that attempt has been graded with feedback released."""
    world = sqlite_world
    dee = world.learner("dee")
    attempts = world.submitted(dee, "kiso", "hw1")
    course, hw1 = cycle.find_course(world.config, "kiso", "hw1")
    cycle.collect(world.config, course, hw1)
    cycle.autograde(world.config, course, hw1, ["dee"])
    cycle.generate_feedback(world.config, course, hw1, ["dee"])
    cycle.release_feedback(world.config, course, hw1, ["dee"])
    return dee, attempts[-1].stamp


def message(response) -> str:
    try:
        return response.json()["message"]
    except ValueError:
        return response.text


def test_fetching_a_course_you_are_not_in_fails(sqlite_world):
    world = sqlite_world
    cat = world.learner("cat")
    result = world.lab(cat, "POST", "assignments/fetch", course_id="kiso", assignment_id="hw1")
    assert not (world.hub.home_of(cat) / "kiso").exists()
    assert {i["course_id"] for i in result.get("value", [])} <= {"oyo"}
    response = world.exchange(cat.token, "GET", "api/courses/kiso/assignments/hw1/files")
    assert response.status_code == 403
    assert "登録されていません" in message(response)


def test_a_revoked_token_is_refused_from_the_very_next_request(sqlite_world):
    world = sqlite_world
    bob = world.learner("bob", spawn=False)
    minted = world.hub.api(
        "POST", "/users/bob/tokens", token=bob.token, json={"note": "to revoke", "expires_in": 600}
    )
    assert minted.status_code == 201, minted.text
    token, token_id = minted.json()["token"], minted.json()["id"]
    read_only = ("api/courses", "api/courses/kiso/submissions")
    for _ in range(2):  # the second round would be answered from a cache, if there were one
        for path in read_only:
            response = world.exchange(token, "GET", path)
            assert response.status_code == 200, (path, response.text)
    assert world.exchange(token, "GET", "api/courses").json()["user"] == "bob"

    revoked = world.hub.api("DELETE", f"/users/bob/tokens/{token_id}", token=bob.token)
    assert revoked.status_code == 204, revoked.text
    for path in read_only:
        response = world.exchange(token, "GET", path)
        assert response.status_code in (401, 403), (path, response.status_code)
        assert "トークンが無効" in message(response)
    blob = tar_of({"problem.ipynb": b"{}"})
    late = world.exchange(token, "POST", "api/courses/kiso/assignments/hw1/submissions", data=blob)
    assert late.status_code in (401, 403)
    # Only that token is gone: bob's others work as before.
    assert world.exchange(bob.token, "GET", "api/courses").status_code == 200


def test_the_services_hub_auth_never_answers_for_a_token_from_memory(sqlite_world):
    """The class the exchange and the check service share, against the real hub, next to
    JupyterHub's own with the same settings: that one keeps vouching for a revoked token."""
    world = sqlite_world
    ann = world.learner("ann", spawn=False)
    api = f"{world.hub.url}/hub/api"
    fresh = FreshHubAuth(api_url=api, api_token=world.hub.service_token())
    fresh_oauth = FreshHubOAuth(api_url=api, api_token=world.hub.service_token())
    stock = HubAuth(api_url=api, api_token=world.hub.service_token(), cache_max_age=0)
    minted = world.hub.api("POST", "/users/ann/tokens", token=ann.token, json={"note": "x"})
    token, token_id = minted.json()["token"], minted.json()["id"]
    for auth in (fresh, fresh_oauth, stock):
        assert auth.user_for_token(token)["name"] == "ann"
    world.hub.api("DELETE", f"/users/ann/tokens/{token_id}", token=ann.token).raise_for_status()
    assert fresh.user_for_token(token) is None
    assert fresh_oauth.user_for_token(token) is None
    assert stock.user_for_token(token)["name"] == "ann"  # what the exchange must never do


def test_a_deleted_users_token_is_refused_at_once(sqlite_world):
    world = sqlite_world
    eve = world.learner("eve", spawn=False)  # in no course: the exchange answers, with nothing
    listed = world.exchange(eve.token, "GET", "api/courses")
    assert listed.status_code == 200 and listed.json() == {"courses": [], "user": "eve"}
    assert world.hub.api("DELETE", "/users/eve").status_code == 204
    gone = world.exchange(eve.token, "GET", "api/courses")
    assert gone.status_code in (401, 403) and "トークンが無効" in message(gone)


def test_a_browser_login_to_the_exchange_ends_with_the_hub_logout(sqlite_world):
    """A copy of the exchange's login cookie (taken from a shared PC, say) stops working the
    moment its owner logs out of the hub: logging out deletes the token inside it."""
    world = sqlite_world
    fay = world.learner("fay", spawn=False)
    base = f"{world.hub.url}/services/sunaba-exchange/"
    opened = fay.session.get(base + "mycourses", timeout=60)
    assert opened.status_code == 200, opened.text[:300]
    stolen = {
        c.name: c.value
        for c in fay.session.cookies
        if (c.path or "").startswith("/services/sunaba-exchange")
    }
    assert stolen, list(fay.session.cookies)

    def replay(path: str) -> requests.Response:
        return requests.get(base + path, cookies=stolen, allow_redirects=False, timeout=60)

    assert replay("api/courses").json()["user"] == "fay"
    assert replay("mycourses").status_code == 200
    fay.session.get(f"{world.hub.url}/hub/logout", timeout=60).raise_for_status()
    refused = replay("api/courses")
    assert refused.status_code in (401, 403), refused.text[:300]
    page = replay("mycourses")  # a page sends the browser to log in again instead
    assert page.status_code == 302 and "マイコース" not in page.text
    assert "/hub/api/oauth2/authorize" in page.headers["Location"]


def test_submitting_as_someone_else_is_impossible(sqlite_world, victim):
    world = sqlite_world
    dee, _ = victim
    bob, cat = world.learner("bob"), world.learner("cat")
    before = len(world.attempts("kiso", "dee", "hw1"))
    notebook = (world.hub.home_of(dee) / "kiso" / "hw1" / "problem.ipynb").read_bytes()
    blob = tar_of({"problem.ipynb": notebook})
    path = "api/courses/kiso/assignments/hw1/submissions"

    # Someone else's name anywhere in the request changes nothing: the token decides.
    forged = world.exchange(
        bob.token,
        "POST",
        path + "?student=dee&user=dee",
        data=blob,
        headers={
            "X-Forwarded-User": "dee",
            "X-Remote-User": "dee",
            "Content-Type": "application/gzip",
        },
    )
    assert forged.status_code == 201 and forged.json()["student"] == "bob"
    # Not in the course, no token, a made-up token: refused.
    assert world.exchange(cat.token, "POST", path, data=blob).status_code == 403
    assert world.exchange("", "POST", path, data=blob).status_code == 403
    assert world.exchange("0" * 32, "POST", path, data=blob).status_code == 403
    # A learner's server token cannot mint a token for someone else.
    minted = world.hub.api("POST", "/users/dee/tokens", token=bob.token, json={"note": "x"})
    assert minted.status_code in (403, 404)
    # Crafted paths: in the URL and inside the archive.
    for crafted in ("api/courses/kiso/assignments/..%2F..%2Fx/submissions",
                    "api/courses/../oyo/assignments/oyo1/submissions"):  # fmt: skip
        assert world.exchange(bob.token, "POST", crafted, data=blob).status_code in (403, 404)
    evil = tar_of({"problem.ipynb": notebook, "../../../submissions/dee/hw1/x": b"owned"})
    response = world.exchange(bob.token, "POST", path, data=evil)
    assert response.status_code == 400 and "使えないファイル名" in message(response)
    assert len(world.attempts("kiso", "dee", "hw1")) == before


def test_reading_or_overwriting_another_learners_work_fails(sqlite_world, victim):
    world = sqlite_world
    dee, stamp = victim
    bob, cat = world.learner("bob"), world.learner("cat")
    feedback = f"api/courses/kiso/assignments/hw1/feedback/{stamp}"
    assert world.exchange(dee.token, "GET", feedback).status_code == 200
    assert world.exchange(bob.token, "GET", feedback).status_code == 404  # looks in bob's own
    assert world.exchange(cat.token, "GET", feedback).status_code == 403
    listed = world.exchange(bob.token, "GET", "api/courses/kiso/submissions?student=dee").json()
    assert {s["student"] for s in listed["submissions"]} <= {"bob"}
    blob = tar_of({"problem.html": b"<p>fake</p>"})
    staff_only = [
        ("PUT", f"api/courses/kiso/assignments/hw1/feedback/dee/{stamp}", blob),
        ("PUT", "api/courses/kiso/assignments/hw1/release", blob),
        ("DELETE", "api/courses/kiso/assignments/hw1/release", None),
        ("GET", "api/courses/kiso/assignments/hw1/collect", None),
    ]
    for method, path, data in staff_only:
        response = world.exchange(bob.token, method, path, data=data)
        assert response.status_code == 403, (method, path, response.status_code)
        assert "講師・採点者" in message(response)
    untouched = world.exchange(dee.token, "GET", feedback)
    assert b"fake" not in untouched.content


def test_learner_cannot_open_a_formgrader(sqlite_world):
    world = sqlite_world
    bob = world.learner("bob")
    for url in (
        f"{world.hub.url}/services/formgrader-kiso/formgrader",
        f"{world.hub.url}/services/formgrader-kiso/api/contents",
    ):
        response = bob.session.get(url, headers={"Authorization": f"token {bob.token}"}, timeout=30)
        assert response.status_code in (403, 404) or "/hub/login" in response.url, url
        assert "formgrader" not in response.text.lower() or response.status_code >= 400
    # Nor is there one in the learner's own JupyterLab.
    own = world.hub.api("GET", "/", token=bob.token)  # token still valid
    assert own.ok
    mine = bob.session.get(
        f"{world.hub.url}/user/bob/formgrader",
        headers={"Authorization": f"token {bob.token}"},
        timeout=30,
    )
    assert mine.status_code == 404


def test_course_source_gradebook_and_hidden_tests_are_out_of_reach(sqlite_world, victim):
    world = sqlite_world
    bob = world.learner("bob")
    world.submitted(bob, "kiso", "hw1")  # so that bob has the released copy at home
    paths = CoursePaths.of(world.config, "kiso")
    targets = [
        grading_root(world.config),
        paths.root,
        paths.gradebook,
        paths.source("hw1") / "problem.ipynb",
        world.hub.state_dir / "exchange" / "kiso",
        world.data / "exercises" / "kiso" / "hw1" / "problem.ipynb",
        world.data / "courses" / "kiso" / "course.yaml",
    ]
    code = (
        "import os\n"
        f"for path in {[str(t) for t in targets]!r}:\n"
        "    try:\n"
        "        if os.path.isdir(path): print(path, 'LISTED', os.listdir(path))\n"
        "        else: print(path, 'READ', len(open(path, 'rb').read()))\n"
        "    except OSError as exc:\n"
        "        print(path, 'refused', type(exc).__name__)\n"
    )
    outcome = world.hub.run(bob, code)
    assert outcome["status"] == "ok", outcome
    assert "LISTED" not in outcome["stdout"] and "READ" not in outcome["stdout"], outcome["stdout"]
    released = world.exchange(bob.token, "GET", "api/courses/kiso/assignments/hw1/files")
    with tarfile.open(fileobj=io.BytesIO(released.content)) as tar:
        text = b"".join(tar.extractfile(m).read() for m in tar if m.isfile())
    assert HIDDEN_MARK.encode() not in text and b"BEGIN SOLUTION" not in text
    home_copy = (world.hub.home_of(bob) / "kiso" / "hw1" / "problem.ipynb").read_text()
    assert HIDDEN_MARK not in home_copy


def test_a_refused_upload_tells_the_proxy_to_drop_the_connection(sqlite_world):
    """Refused before its body is read, an upload's connection is closed after the answer. The
    exchange must say so (`Connection: close`), or the proxy reuses the dead connection and
    answers the next caller with a 503. Asked directly, past the proxy, which hides the header."""
    world = sqlite_world
    service = world.hub.api("GET", "/services/sunaba-exchange").json()
    url = urlparse(service["url"])
    path = f"{service['prefix']}api/courses/kiso/assignments/hw1/submissions"
    for token in ("", "0" * 32):
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        try:
            connection.request(
                "POST",
                path,
                body=b"\x1f\x8b" + b"\0" * 65536,
                headers={"Authorization": f"token {token}", "Content-Type": "application/gzip"},
            )
            response = connection.getresponse()
            response.read()
        finally:
            connection.close()
        assert response.status == 403, token
        assert response.getheader("Connection") == "close", token


def raw_post(world, token: str, path: str, declared: int, body: bytes) -> tuple[int, str]:
    """A POST that announces `declared` bytes but sends only `body`: the exchange must answer
    from the headers, before any content arrives."""
    url = urlparse(world.hub.url)
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        head = (
            f"POST /services/sunaba-exchange/{path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Authorization: token {token}\r\nContent-Type: application/gzip\r\n"
            f"Content-Length: {declared}\r\n\r\n"
        )
        sock.sendall(head.encode() + body)
        raw = b""
        while b"\r\n\r\n" not in raw or len(raw) < 200:
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
    status = int(raw.split(b" ", 2)[1])
    return status, raw.decode("utf-8", "replace")


def test_huge_or_broken_submissions_are_refused_and_nothing_is_stored(sqlite_world):
    world = sqlite_world
    bob = world.learner("bob")
    world.submitted(bob, "kiso", "hw1")
    before = len(world.attempts("kiso", "bob", "hw1"))
    path = "api/courses/kiso/assignments/hw1/submissions"

    status, text = raw_post(world, bob.token, path, 2 * 1024**3, b"\x1f\x8b" + b"\0" * 1024)
    assert status == 413 and "大きすぎます" in text

    # Through JupyterLab: a 2 GB file in the assignment folder (sparse, written in no time).
    folder = "kiso/hw1"
    outcome = world.hub.run(
        bob, f"open('{folder}/big.csv', 'wb').truncate(2_000_000_000); print('ok')"
    )
    assert outcome["stdout"].strip() == "ok", outcome
    refused = world.lab(bob, "POST", "assignments/submit", course_id="kiso", assignment_id="hw1")
    assert not refused["success"] and "大きすぎます" in refused["value"]
    world.hub.run(bob, f"import os; os.remove('{folder}/big.csv')")

    # A notebook that is not JSON, through JupyterLab and straight to the exchange.
    world.hub.run(bob, f"open('{folder}/problem.ipynb', 'a').write('{{not json')")
    refused = world.lab(bob, "POST", "assignments/submit", course_id="kiso", assignment_id="hw1")
    assert not refused["success"] and "JSON が壊れています" in refused["value"]
    direct = world.exchange(bob.token, "POST", path, data=tar_of({"problem.ipynb": b"{oops"}))
    assert direct.status_code == 400 and "JSON が壊れています" in message(direct)
    garbage = world.exchange(bob.token, "POST", path, data=b"not a tar at all")
    assert garbage.status_code == 400 and "壊れています" in message(garbage)

    assert len(world.attempts("kiso", "bob", "hw1")) == before
    leftovers = list((world.hub.state_dir / "exchange" / "kiso" / "submissions").rglob(".tmp-*"))
    assert leftovers == []
    json.dumps(refused)  # the messages travel as JSON to the browser
