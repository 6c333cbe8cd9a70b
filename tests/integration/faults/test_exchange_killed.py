"""Drill: the exchange is killed (SIGKILL) in the middle of a batch of submissions. Each one is
either stored whole (a valid notebook, byte for byte what was sent) or refused with a Japanese
message asking the learner to submit again; once the hub has restarted the exchange, submitting
again works, and nothing else the learners keep has changed."""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

import nbformat

from tests.integration.faults.drills import (
    differences,
    hub_service_port,
    kill_service,
    service_pid,
    snapshot,
    wait_for,
    wait_for_restart,
)

MODULE = "sunaba.classroom.service"
COURSE, ASSIGNMENT = "kiso", "hw1"
BATCH = 10
LEARNERS = ("ann", "bob", "dee")


def answer_notebook(released: bytes, number: int) -> bytes:
    """The released notebook with an answer of its own, large enough (about 1.5 MB, little
    compressible) that the exchange is still busy with the batch when it is killed."""
    notebook = nbformat.reads(released.decode("utf-8"), as_version=4)
    filler = secrets.token_hex(750_000)
    notebook.cells.append(nbformat.v4.new_code_cell(f"# 提出 {number}\nnotes = '{filler}'"))
    return nbformat.writes(notebook).encode("utf-8")


def submit(client, blob: bytes) -> dict:
    from sunaba.exchange.client import ExchangeUnavailable

    path = f"api/courses/{COURSE}/assignments/{ASSIGNMENT}/submissions"
    try:
        return {"stored": client.send("POST", path, blob)}
    except ExchangeUnavailable as exc:
        return {"refused": str(exc), "status": exc.status}


def connected(port: int) -> int:
    """Connections to `port` on loopback that the kernel has established (accepted or not)."""
    local = f"0100007F:{port:04X}"
    with open("/proc/net/tcp") as table:
        rows = [line.split() for line in table.readlines()[1:]]
    return sum(1 for row in rows if row[1] == local and row[3] == "01")


def stored_attempts(world) -> dict[str, bytes]:
    """stamp -> problem.ipynb of every attempt the exchange keeps for this assignment."""
    from sunaba.core.layout import exchange_root
    from sunaba.exchange.store import ExchangeStore

    store = ExchangeStore(exchange_root(world.config))
    found = {}
    for name in LEARNERS:
        for attempt in store.submissions(COURSE, name, ASSIGNMENT):
            found[f"{name}/{attempt.stamp}"] = store.submission_files(attempt)["problem.ipynb"]
    return found


def test_submissions_are_stored_whole_or_refused_when_the_exchange_dies(world):
    from sunaba.core.archive import pack
    from sunaba.exchange.client import ExchangeClient

    hub = world.hub
    people = {name: world.learner(name, spawn=False) for name in LEARNERS}
    port = hub_service_port(hub, "sunaba-exchange")
    base = f"http://127.0.0.1:{port}/services/sunaba-exchange/"
    clients = {name: ExchangeClient(base, person.token) for name, person in people.items()}
    released = clients["ann"].request("GET", f"api/courses/{COURSE}/assignments/{ASSIGNMENT}/files")
    from sunaba.core.archive import unpack

    notebook = unpack(released, max_bytes=2**30).files["problem.ipynb"]
    sent = [answer_notebook(notebook, number) for number in range(BATCH)]
    digests = {hashlib.sha256(data).hexdigest(): number for number, data in enumerate(sent)}
    ann = world.learner("ann")
    if not (hub.home_of(ann) / COURSE / ASSIGNMENT).exists():
        fetched = world.lab(
            ann, "POST", "assignments/fetch", course_id=COURSE, assignment_id=ASSIGNMENT
        )
        assert fetched["success"], fetched
    earlier = set(stored_attempts(world))
    before = snapshot(world)

    def one(number: int, start: threading.Barrier) -> dict:
        name = LEARNERS[number % len(LEARNERS)]
        blob = pack({"problem.ipynb": sent[number]})
        start.wait()
        return {"learner": name, "number": number, **submit(clients[name], blob)}

    def wave(numbers: range, kill: bool) -> list[dict]:
        start = threading.Barrier(len(numbers) + 1)
        with ThreadPoolExecutor(max_workers=len(numbers)) as pool:
            futures = [pool.submit(one, number, start) for number in numbers]
            start.wait()
            if kill:
                # Midway: some uploads are connected (so still being received or checked,
                # which takes the exchange seconds for notebooks this size), others not yet.
                wait_for(lambda: connected(port) >= 3, 60, "no upload came", every=0.002)
                killed.append(kill_service(hub, MODULE, pid))
            return [future.result() for future in futures]

    killed: list[int] = []
    pid = service_pid(hub, MODULE)
    first = wave(range(4), kill=False)
    assert all("stored" in o for o in first), first
    outcomes = first + wave(range(4, BATCH), kill=True)

    refused = [o for o in outcomes if "refused" in o]
    accepted = [o for o in outcomes if "stored" in o]
    assert refused, json.dumps(outcomes, ensure_ascii=False)[:2000]
    for outcome in refused:
        assert outcome["status"] == 0, outcome
        assert "もう一度提出してください" in outcome["refused"], outcome

    # Nothing half-stored: every attempt the exchange keeps is a valid notebook, byte for byte
    # one that was sent; every accepted one is among them. (One stored just before the kill
    # may have been refused all the same, its answer never sent: sending it again is safe.)
    kept = {k: v for k, v in stored_attempts(world).items() if k not in earlier}
    assert kept
    for key, data in kept.items():
        assert hashlib.sha256(data).hexdigest() in digests, key
        nbformat.validate(nbformat.reads(data.decode("utf-8"), as_version=4))
    for outcome in accepted:
        assert f"{outcome['learner']}/{outcome['stored']['stamp']}" in kept, outcome

    # Back after the hub's restart: each refused learner submits again, and it is stored.
    wait_for_restart(hub, MODULE, killed[0], port)
    for outcome in refused:
        again = submit(
            clients[outcome["learner"]], pack({"problem.ipynb": sent[outcome["number"]]})
        )
        assert "stored" in again, again
    final = {k: v for k, v in stored_attempts(world).items() if k not in earlier}
    numbers = {digests[hashlib.sha256(data).hexdigest()] for data in final.values()}
    assert numbers == set(range(BATCH)), sorted(numbers)
    # And from JupyterLab, through the learner's own server.
    world.submitted(ann, COURSE, ASSIGNMENT)
    final = {k: v for k, v in stored_attempts(world).items() if k not in earlier}
    assert len(final) == len(kept) + len(refused) + 1, sorted(final)

    # The rest of the exchange, learners' files and the gradebooks are as they were: the only
    # additions are the new attempts' own files.
    changes = differences(before, snapshot(world))
    new_attempts = {key.split("/", 1)[1] for key in final}
    for area, change in changes.items():
        assert not change["changed"] and not change["removed"], (area, change)
        unexpected = [
            path
            for path in change["added"]
            if area != "exchange" or path.split("/")[4] not in new_attempts
        ]
        assert not unexpected, (area, unexpected)
