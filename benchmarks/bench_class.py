"""A class in session: N learners work through a real assignment at the same time, on Sunaba
and on the stock alternative (JupyterHub + LocalProcessSpawner on the same Unix users), in one
run, and the time of every step is compared.

Each learner (asyncio + aiohttp, a browser's cookies): logs in through the hub's login form,
starts their server and waits on the progress stream, loads JupyterLab, fetches the assignment
(Sunaba's exchange; stock: nbgrader's own exchange directory), opens the notebook through the
contents API, starts a kernel and runs the cells over its websocket with think time between
them (the dataset, the model answers, a groupby, a chart), checks the answers (Sunaba: `check()`
and one `hint()`; stock: the notebook's visible asserts), saves (PUT contents), submits (each
through its exchange, as the assignment list in JupyterLab does) and logs out. Learners arrive spread over the ramp-up time.
Prints p50 / p95 / max per step for both hubs with the p95 ratio, and every failure.

    python benchmarks/bench_class.py                     # both hubs here, 10 learners (as root)
    python benchmarks/bench_class.py --learners 60 --ramp 120 --think 5,20    # the full class
    python benchmarks/bench_class.py --sizes 30,45,60,90,120 --ramp 120 --think 5,20  # capacity
    python benchmarks/bench_class.py --sizes 30 --stock-sizes 15,30 --ramp 120 --think 5,20
    python benchmarks/bench_class.py --url https://hub.example --token ADMIN_TOKEN \\
        --people roster-passwords.csv --kind sunaba --learners 60 --ramp 120 --think 5,20

With --url, the learners are existing accounts read from --people (Sunaba: the temporary
passwords file of a roster import that enrolled them in the course; see
docs/how-to/load-test.md); their servers are stopped at the end with the admin token.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import os
import random
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.class_capacity import MemoryPeak, judge, print_capacity  # noqa: E402
from benchmarks.class_client import Browser, StepFailed, StepLog  # noqa: E402
from benchmarks.class_lesson import Lesson, stock_lesson, sunaba_lesson  # noqa: E402
from benchmarks.class_pair import local_pair  # noqa: E402
from benchmarks.class_report import print_report  # noqa: E402

COURSE, ASSIGNMENT = "opendata-intro", "first-pandas"
CLASS_TIMEOUT = 1500  # the whole class, per hub: a learner still busy then is a failure


async def attend(hub_url: str, name: str, password: str, lesson: Lesson, think, log: StepLog):
    """One learner's lesson, step by step; stops at the first failure (kept in `log`)."""
    browser = Browser(hub_url, name)
    try:
        async with log.step("login"):
            await browser.login(password)
        async with log.step("server ready"):
            await browser.start_server()
        async with log.step("open lab"):
            await browser.open_lab()
        if lesson.fetch:
            async with log.step("fetch"):
                await assignment_action(browser, lesson, "fetch")
        async with log.step("open notebook"):
            model = await browser.server_call("GET", f"api/contents/{lesson.notebook}")
        await work_in_kernel(browser, lesson, think, log)
        async with log.step("save"):
            path = f"api/contents/{lesson.notebook}"
            await browser.server_call("PUT", path, json=lesson.filled(model))
        async with log.step("submit"):
            await assignment_action(browser, lesson, "submit")
        async with log.step("logout"):
            await browser.logout()
    finally:
        await browser.close()


async def assignment_action(browser: Browser, lesson: Lesson, action: str) -> None:
    """Fetch or submit as the assignment list in JupyterLab does."""
    body = {"course_id": lesson.course, "assignment_id": lesson.assignment}
    outcome = await browser.server_call("POST", f"assignments/{action}", json=body)
    if not outcome.get("success"):
        raise StepFailed(f"{action}: {outcome}")


async def work_in_kernel(browser: Browser, lesson: Lesson, think, log: StepLog) -> None:
    async with log.step("start kernel"):
        kernel = await browser.kernel()
    try:
        async with log.step("load dataset"):
            await kernel.run(lesson.setup)
        for answer, check in lesson.questions:
            await think()
            async with log.step("run cell"):
                await kernel.run(answer)
            async with log.step("check"):
                await kernel.run(check)
        if lesson.hint:
            async with log.step("hint"):
                await kernel.run(lesson.hint)
        for code in lesson.analysis:
            await think()
            async with log.step("run cell"):
                await kernel.run(code)
    finally:
        await kernel.close()


async def run_class(hub_url, people, lesson, ramp: float, think: tuple[float, float]):
    """Every learner in `people` (name -> password), arriving uniformly over `ramp` seconds."""
    rng = random.Random(7)

    async def pause():
        await asyncio.sleep(rng.uniform(*think))

    async def one(index: int, name: str, password: str, log: StepLog):
        await asyncio.sleep(ramp * index / max(1, len(people)))
        # A failure is in the log, with its message; the other learners go on.
        with contextlib.suppress(Exception):
            await attend(hub_url, name, password, lesson, pause, log)

    logs = [StepLog(name) for name in people]
    tasks = [
        asyncio.create_task(one(i, name, password, log))
        for i, ((name, password), log) in enumerate(zip(people.items(), logs, strict=True))
    ]
    _, pending = await asyncio.wait(tasks, timeout=CLASS_TIMEOUT)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for log in logs:
        if log.failure is None and "logout" not in log.times:
            log.failure = ("class", f"not finished within the class time limit ({CLASS_TIMEOUT} s)")
    return logs


def read_people(path: Path, count: int) -> dict[str, str]:
    """The first `count` accounts of a CSV whose first column is the user name and last column
    the password: Sunaba's roster-passwords-*.csv, or any `name,password` file."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = [row for row in csv.reader(handle) if len(row) >= 2]
    people = {row[0]: row[-1] for row in rows if row[0] not in ("ユーザー名", "username")}
    if len(people) < count:
        sys.exit(f"{path} has {len(people)} accounts, fewer than --learners {count}")
    return dict(list(people.items())[:count])


def stop_servers(url: str, token: str, names) -> None:
    """Stop every learner's server (bounded): the next phase starts on a quiet machine."""
    headers = {"Authorization": f"token {token}"}
    for name in names:
        requests.delete(f"{url}/hub/api/users/{name}/server", headers=headers, timeout=120)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        models = [
            requests.get(f"{url}/hub/api/users/{n}", headers=headers, timeout=60).json()
            for n in names
        ]
        if not any(m.get("servers") for m in models):
            return
        time.sleep(2)


def run_remote(args, lesson: Lesson, results: dict) -> None:
    url = args.url.rstrip("/")
    people = read_people(args.people, args.learners)
    try:
        results[args.kind] = asyncio.run(run_class(url, people, lesson, args.ramp, args.think))
    finally:
        stop_servers(url, args.token, people)


def run_local(args, lessons: dict[str, Lesson], results: dict) -> None:
    with local_pair(args.course, args.assignment, args.learners, args.csv) as phases:
        for kind, hub in phases:
            started = time.monotonic()
            results[kind] = asyncio.run(
                run_class(hub.url, hub.people, lessons[kind], args.ramp, args.think)
            )
            print(f"  {kind}: class over in {time.monotonic() - started:.0f} s", flush=True)
            stop_servers(hub.url, hub.token, hub.people)


def run_sizes(args, lessons: dict[str, Lesson], verdicts: dict) -> None:
    """Classes of growing size on each hub, on the first N of the same accounts, until one
    misses the targets; prints each class's report as it ends and keeps its verdict."""
    # The stock hub logs in the Unix accounts Sunaba's servers made: as many as Sunaba's largest.
    with local_pair(args.course, args.assignment, max(args.sizes), args.csv) as phases:
        for kind, hub in phases:
            verdicts[kind] = []
            for size in args.stock_sizes if kind == "stock" else args.sizes:
                people = dict(list(hub.people.items())[:size])
                print(f"  {kind}: class of {size}", flush=True)
                with MemoryPeak() as memory:
                    logs = asyncio.run(
                        run_class(hub.url, people, lessons[kind], args.ramp, args.think)
                    )
                stop_servers(hub.url, hub.token, people)
                hub.set_aside(f"class-of-{size}")
                print_report({kind: logs})
                verdicts[kind].append(judge(size, logs, memory.used_bytes))
                if not verdicts[kind][-1].passed:
                    break


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=10)
    parser.add_argument("--ramp", type=float, default=20, help="seconds over which learners arrive")
    parser.add_argument("--think", default="2,6", help="think time between cells: MIN,MAX seconds")
    parser.add_argument("--url", help="an existing hub instead of the local pair")
    parser.add_argument("--token", help="admin API token of --url (stops the servers after)")
    parser.add_argument("--people", type=Path, help="with --url: CSV of user name … password")
    parser.add_argument(
        "--sizes",
        help="find the largest class: sizes to try in turn, e.g. 30,45,60,90,120 (local pair)",
    )
    parser.add_argument(
        "--stock-sizes",
        help="with --sizes: other sizes for the stock hub (at most Sunaba's largest)",
    )
    parser.add_argument("--kind", choices=("sunaba", "stock"), default="sunaba")
    parser.add_argument("--course", default=COURSE)
    parser.add_argument("--assignment", default=ASSIGNMENT)
    parser.add_argument(
        "--csv", default="0066_202404.csv", help="stock: the CSV beside the notebook"
    )
    args = parser.parse_args(argv)
    low, high = (float(x) for x in args.think.split(","))
    args.think = (low, high)
    if args.url and not (args.token and args.people):
        parser.error("--url needs --token (an admin token) and --people (the accounts)")
    if args.sizes:
        if args.url:
            parser.error(
                "--sizes runs on the local pair: it resets the learners' homes between classes"
            )
        args.sizes = sorted({int(size) for size in args.sizes.split(",")})
        stock = args.stock_sizes.split(",") if args.stock_sizes else args.sizes
        args.stock_sizes = sorted({int(size) for size in stock})
        if max(args.stock_sizes) > max(args.sizes):
            parser.error("--stock-sizes: the stock hub uses the accounts of Sunaba's largest class")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if not args.url and os.geteuid() != 0:
        sys.exit("run as root: the local pair makes real Unix users (or give --url and --token)")
    lessons = {
        "sunaba": sunaba_lesson(args.course, args.assignment),
        "stock": stock_lesson(args.course, args.assignment, args.csv),
    }
    if args.sizes:
        print(f"capacity: classes of {args.sizes}, ramp {args.ramp:.0f} s", flush=True)
        verdicts: dict = {}
        try:
            run_sizes(args, lessons, verdicts)
        finally:
            print_capacity(verdicts)
        return 0
    results = {}
    print(
        f"class: {args.learners} learners, ramp {args.ramp:.0f} s, think {args.think[0]:g}–"
        f"{args.think[1]:g} s, {args.course}/{args.assignment}",
        flush=True,
    )
    try:
        if args.url:
            run_remote(args, lessons[args.kind], results)
        else:
            run_local(args, lessons, results)
    finally:
        print_report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
