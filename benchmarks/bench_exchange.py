"""Benchmark: the trusted exchange against nbgrader's default exchange, on the same files.

Run with `python benchmarks/bench_exchange.py` as root (it starts a real hub with a synced
course). Two figures, each measured for both exchanges in the same run:

1. 40 learners submit at once. Each learner is a process forked after nbgrader is imported
   (import time is not part of the figure), released together; the wall time until the last
   submission is stored, and how many failed. Sunaba: the exchange plugin posts to the exchange
   service with the learner's own hub token. Stock: nbgrader's default `ExchangeSubmit` copying
   into a world-writable folder.
2. A collect of 200 submissions (one per learner) into the course directory. Sunaba: `sunaba
   grade collect` (the store read by root, the files written by the grader account). Stock:
   nbgrader's default `ExchangeCollect`.

No assertion: the figures are for reading.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sys
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import nbformat  # noqa: E402
import yaml  # noqa: E402
from nbgrader.auth import Authenticator  # noqa: E402
from nbgrader.coursedir import CourseDirectory  # noqa: E402
from nbgrader.exchange import default as stock  # noqa: E402
from tests.support.courses import source_notebook  # noqa: E402
from tests.support.hub import SunabaHub  # noqa: E402
from traitlets.config import Config  # noqa: E402

from sunaba.classroom.sync import sync_courses  # noqa: E402
from sunaba.config.loader import load_config  # noqa: E402
from sunaba.core.archive import Archive, collect_files  # noqa: E402
from sunaba.exchange.plugin import Submit  # noqa: E402
from sunaba.exchange.store import ExchangeStore  # noqa: E402
from sunaba.grading import cycle  # noqa: E402

LEARNERS = 40
COLLECTED = 200
COURSE, ASSIGNMENT = "bench", "hw1"
DATA = ("地域,人口\n" + "".join(f"町{i},{i * 7}\n" for i in range(6000))).encode("cp932")


def learner_names(count: int) -> list[str]:
    return [f"bench{n:03d}" for n in range(1, count + 1)]


def write_assignment(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(source_notebook(), str(folder / "problem.ipynb"))
    (folder / "population.csv").write_bytes(DATA)


# ----------------------------------------------------------------------------------------------
# Submitting at once


def _submit_sunaba(work: Path, token: str, api_url: str) -> None:
    os.environ["JUPYTERHUB_API_TOKEN"] = token
    os.environ["JUPYTERHUB_API_URL"] = api_url
    config = Config()
    config.Exchange.assignment_dir = str(work)
    coursedir = CourseDirectory(course_id=COURSE, assignment_id=ASSIGNMENT, config=config)
    Submit(coursedir=coursedir, authenticator=Authenticator(config=config), config=config).start()


def _submit_stock(work: Path, name: str, root: Path) -> None:
    config = Config()
    config.Exchange.root = str(root)
    config.Exchange.assignment_dir = str(work)
    config.Exchange.path_includes_course = True
    config.Exchange.cache = str(work / ".cache")
    coursedir = CourseDirectory(
        course_id=COURSE, assignment_id=ASSIGNMENT, student_id=name, config=config
    )
    stock.ExchangeSubmit(
        coursedir=coursedir, authenticator=Authenticator(config=config), config=config
    ).start()


def _learner(gate, results, submit, args) -> None:
    gate.wait()
    started = time.monotonic()
    try:
        submit(*args)
        results.put((True, time.monotonic() - started, ""))
    except BaseException as exc:  # noqa: BLE001 (every failure is a figure)
        results.put((False, time.monotonic() - started, f"{type(exc).__name__}: {exc}"))


def all_at_once(jobs: list[tuple]) -> tuple[float, int, list[str]]:
    """Fork one process per (submit, args), release them together; (wall s, failures, errors)."""
    context = multiprocessing.get_context("fork")
    gate, results = context.Event(), context.Queue()
    processes = [context.Process(target=_learner, args=(gate, results, *job)) for job in jobs]
    for process in processes:
        process.start()
    time.sleep(1.0)  # every learner is waiting at the gate
    started = time.monotonic()
    gate.set()
    outcomes = [results.get(timeout=600) for _ in processes]
    wall = time.monotonic() - started
    for process in processes:
        process.join()
    errors = [error for ok, _, error in outcomes if not ok]
    return wall, len(errors), errors


# ----------------------------------------------------------------------------------------------
# Collecting


def fill_stock_inbound(root: Path, names: list[str], source: Path) -> None:
    inbound = root / COURSE / "inbound"
    moment = datetime(2025, 6, 1, tzinfo=UTC)
    for index, name in enumerate(names):
        stamp = (moment + timedelta(seconds=index)).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
        target = inbound / f"{name}+{ASSIGNMENT}+{stamp}+r{index:04d}"
        shutil.copytree(source, target)
        (target / "timestamp.txt").write_text(stamp)


def collect_stock(root: Path, course_root: Path) -> float:
    config = Config()
    config.Exchange.root = str(root)
    config.CourseDirectory.root = str(course_root)
    config.ExchangeCollect.check_owner = False
    coursedir = CourseDirectory(course_id=COURSE, assignment_id=ASSIGNMENT, config=config)
    started = time.monotonic()
    collector = stock.ExchangeCollect(
        coursedir=coursedir, authenticator=Authenticator(config=config), config=config
    )
    collector.start()
    return time.monotonic() - started


def main() -> int:
    if os.geteuid() != 0:
        print("run as root: the benchmark creates Unix accounts and starts a hub")
        return 1
    # nbgrader's gradebook runs the `alembic` command: the venv's bin must be on the path.
    os.environ["PATH"] = f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"
    data = Path(tempfile.mkdtemp(prefix="sunaba-bench-exchange-"))
    data.chmod(0o755)
    names = learner_names(LEARNERS)
    hub = None
    try:
        courses, exercises = data / "courses", data / "exercises"
        (courses / COURSE).mkdir(parents=True)
        (courses / COURSE / "course.yaml").write_text(
            yaml.safe_dump(
                {
                    "id": COURSE,
                    "title": {"ja": "ベンチマーク"},
                    "instructors": ["teach"],
                    "enrolment": {"users": names},
                    "assignments": [{"id": ASSIGNMENT, "title": {"ja": "提出の負荷"}}],
                },
                allow_unicode=True,
            ),
            encoding="utf-8",
        )
        write_assignment(exercises / COURSE / ASSIGNMENT)
        hub = SunabaHub(
            extra={
                "courses": {"directory": str(courses), "exercises": str(exercises)},
                "culler": {"enabled": False},
            }
        )
        config = load_config(hub.config_file, environ={})
        hub.state_dir.mkdir(mode=0o700)
        report = sync_courses(config, use_running_hub=False)
        if not report.ok:
            print("\n".join(report.lines()))
            return 1
        hub.start()
        hub.ensure_admin()  # once, before the sign-ups it approves run side by side
        with ThreadPoolExecutor(max_workers=4) as pool:
            people = list(pool.map(hub.new_learner, names))
        api_url = f"http://127.0.0.1:{config.hub.hub_port}{config.hub.base_url}hub/api"

        released = ExchangeStore(hub.state_dir / "exchange").released_files(COURSE, ASSIGNMENT)
        work = data / "work"
        for person in people:
            target = work / person.name / COURSE / ASSIGNMENT
            target.mkdir(parents=True)
            for name, content in released.items():
                (target / name).write_bytes(content)
            (target / "population.csv").write_bytes(DATA)
        size = sum(p.stat().st_size for p in (work / names[0]).rglob("*") if p.is_file())

        stock_root = data / "stock-exchange"
        release_dir = data / "stock-course" / "release" / ASSIGNMENT
        shutil.copytree(work / names[0] / COURSE / ASSIGNMENT, release_dir)
        stock_root.mkdir()
        stock_root.chmod(0o777)
        stock_config = Config()
        stock_config.Exchange.root = str(stock_root)
        stock_config.CourseDirectory.root = str(data / "stock-course")
        stock.ExchangeReleaseAssignment(
            coursedir=CourseDirectory(
                course_id=COURSE, assignment_id=ASSIGNMENT, config=stock_config
            ),
            authenticator=Authenticator(config=stock_config),
            config=stock_config,
        ).start()

        sunaba_submit = all_at_once(
            [(_submit_sunaba, (work / p.name, p.token, api_url)) for p in people]
        )
        stock_submit = all_at_once(
            [(_submit_stock, (work / p.name, p.name, stock_root)) for p in people]
        )

        # 200 submissions in each exchange, the same files, then one collect each.
        many = learner_names(COLLECTED)
        files = collect_files(work / names[0] / COURSE / ASSIGNMENT, max_bytes=2**30)
        store = ExchangeStore(hub.state_dir / "exchange")
        moment = datetime(2025, 6, 1, tzinfo=UTC)
        for index, name in enumerate(many):
            store.add_submission(
                COURSE, name, ASSIGNMENT, Archive(files),
                now=moment + timedelta(seconds=index), late=False,
            )  # fmt: skip
        shutil.rmtree(stock_root / COURSE / "inbound")
        (stock_root / COURSE / "inbound").mkdir(mode=0o733)
        fill_stock_inbound(stock_root, many, work / names[0] / COURSE / ASSIGNMENT)
        course, assignment = cycle.find_course(config, COURSE, ASSIGNMENT)
        started = time.monotonic()
        sunaba_collect_lines = cycle.collect(config, course, assignment).lines
        sunaba_collect = time.monotonic() - started
        stock_collect = collect_stock(stock_root, data / "stock-course")
        collected = sum(1 for _ in (data / "stock-course" / "submitted").glob(f"*/{ASSIGNMENT}"))

        print(f"exchange, one assignment of {size / 1024:.0f} KiB (a notebook and a CP932 CSV)")
        print(f"{'':52}{'Sunaba':>10}{'stock':>10}{'ratio':>8}")
        s_wall, s_fail, s_err = sunaba_submit
        k_wall, k_fail, k_err = stock_submit
        print(f"{f'{LEARNERS} learners submit at once, wall s':52}"
              f"{s_wall:>10.2f}{k_wall:>10.2f}{s_wall / k_wall:>8.1f}")  # fmt: skip
        print(f"{'  failed submissions':52}{s_fail:>10}{k_fail:>10}")
        print(f"{f'collect of {COLLECTED} submissions, s':52}"
              f"{sunaba_collect:>10.2f}{stock_collect:>10.2f}{sunaba_collect / stock_collect:>8.1f}")  # fmt: skip
        print(f"{'  collected':52}{sunaba_collect_lines[0].split(' 件')[0].split()[-1]:>10}"
              f"{collected:>10}")  # fmt: skip
        print("identity: Sunaba from each learner's hub token; stock from the student id the "
              "client sends (CourseDirectory.student_id / $USER)")  # fmt: skip
        for error in (s_err + k_err)[:5]:
            print("error:", error)
        return 0
    except Exception:
        traceback.print_exc()
        return 1
    finally:
        if hub is not None:
            hub.close()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
