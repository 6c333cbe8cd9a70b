"""The local pair bench_class.py runs the class on: a Sunaba hub serving a real course of
courses/ to N learners, then a stock JupyterHub (its defaults: PAMAuthenticator's login form,
LocalProcessSpawner) on the Unix accounts Sunaba made, with nbgrader's stock exchange: a shared
directory the teacher releases the assignment (notebook and CSV) into with
`nbgrader release_assignment`, and learners fetch from and submit to through nbgrader's own
assignment-list handlers in their servers. The stock hub starts only once Sunaba's phase is
over and its hub stopped: the accounts exist then, and the two hubs never share the machine's
two cores."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml
from benchmarks.stock import StockHub
from tests.support.courses import stop_course_world
from tests.support.hub import PREFIX, account_exists
from tests.support.real_course import MIRROR, source_notebook, start_real_course


@dataclass
class Phase:
    """A running hub and its learners (name -> password); `token` may stop their servers."""

    url: str
    token: str
    people: dict[str, str]
    # Moves what the learners fetched aside, so that a next class on the same accounts fetches
    # into an empty course folder again (nbgrader's fetch refuses to overwrite).
    set_aside: Callable[[str], None] = lambda tag: None


def _enrol(world, course: str, names: list[str]) -> Phase:
    """Enrol every learner in the course, then sign them up and have them approved."""
    course_file = world.courses / course / "course.yaml"
    data = yaml.safe_load(course_file.read_text(encoding="utf-8"))
    data["enrolment"]["users"] = names
    course_file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    world.sync()
    people = {name: world.hub.new_learner(name).password for name in names}
    accounts = [world.hub.user_prefix + name for name in names]
    return Phase(
        world.hub.url,
        world.hub.service_token(),
        people,
        lambda tag: set_fetched_aside(world, accounts, course, f"sunaba-{tag}"),
    )


def set_fetched_aside(world, accounts, course: str, tag: str) -> None:
    for account in accounts:
        fetched = world.hub.home_root / account / course
        if fetched.exists():
            fetched.rename(fetched.with_name(f"{course}-{tag}"))


# nbgrader's own exchange, in place of the plugins the shared venv's config names.
STOCK_EXCHANGE = {
    "exchange": "nbgrader.exchange.default.exchange.Exchange",
    "fetch_assignment": "nbgrader.exchange.default.fetch_assignment.ExchangeFetchAssignment",
    "fetch_feedback": "nbgrader.exchange.default.fetch_feedback.ExchangeFetchFeedback",
    "submit": "nbgrader.exchange.default.submit.ExchangeSubmit",
    "list": "nbgrader.exchange.default.list.ExchangeList",
    "release_assignment": "nbgrader.exchange.default.release_assignment.ExchangeReleaseAssignment",
    "release_feedback": "nbgrader.exchange.default.release_feedback.ExchangeReleaseFeedback",
    "collect": "nbgrader.exchange.default.collect.ExchangeCollect",
}


def stock_nbgrader_config(exchange: Path, course: str, course_root: Path | None = None) -> str:
    lines = [f"c.ExchangeFactory.{key} = {value!r}" for key, value in STOCK_EXCHANGE.items()] + [
        f"c.Exchange.root = {str(exchange)!r}",
        "c.Exchange.path_includes_course = True",
        f"c.CourseDirectory.course_id = {course!r}",
    ]
    if course_root:
        lines.append(f"c.CourseDirectory.root = {str(course_root)!r}")
    return "\n".join(lines) + "\n"


def release_stock(root: Path, course: str, assignment: str, csv: str) -> Path:
    """The teacher's side of stock nbgrader: a course directory with the source notebook and
    its CSV, `nbgrader generate_assignment` and `release_assignment` into a world-writable
    exchange. Returns the directory to put on the learners' JUPYTER_CONFIG_PATH."""
    exchange, teacher, learners = (
        root / "stock-exchange",
        root / "stock-course",
        root / "stock-config",
    )
    source = teacher / "source" / assignment
    source.mkdir(parents=True)
    shutil.copy(source_notebook(course, assignment), source)
    shutil.copy(MIRROR / "takamatsu-population" / csv, source)
    exchange.mkdir()
    exchange.chmod(0o777)  # as nbgrader's documentation sets /srv/nbgrader/exchange up
    (teacher / "nbgrader_config.py").write_text(stock_nbgrader_config(exchange, course, teacher))
    bin_dir = PREFIX / "venv" / "bin"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    for step in ("generate_assignment", "release_assignment"):
        subprocess.run(
            [str(bin_dir / "nbgrader"), step, assignment, "--force"],
            env=env,
            cwd=teacher,
            check=True,
            capture_output=True,
            timeout=300,
        )
    learners.mkdir(mode=0o755)
    config = learners / "nbgrader_config.py"
    config.write_text(stock_nbgrader_config(exchange, course))
    config.chmod(0o644)
    return learners


def _stock_phase(stock: StockHub, world, people: dict[str, str], course: str):
    """The same people log in to the stock hub's default PAMAuthenticator with their Unix
    account and password (set here on the accounts this run's Sunaba hub made). What they
    fetched from Sunaba is moved aside: stock's fetch must start from an empty course folder.
    A learner whose Sunaba server never started has no Unix account (the spawner makes it): they
    stay in the class, and their failed login is reported like any other failure."""
    accounts = {world.hub.user_prefix + name: password for name, password in people.items()}
    set_fetched_aside(world, accounts, course, "sunaba-phase")
    lines = "".join(
        f"{account}:{password}\n"
        for account, password in accounts.items()
        if account_exists(account)
    )
    subprocess.run(["chpasswd"], input=lines, text=True, check=True, timeout=120)
    return Phase(
        stock.url,
        stock.token,
        accounts,
        lambda tag: set_fetched_aside(world, accounts, course, f"stock-{tag}"),
    )


@contextlib.contextmanager
def local_pair(course, assignment, count: int, csv: str) -> Iterator[Iterator[tuple[str, Phase]]]:
    """Yields the phases to run, ("sunaba", …) then ("stock", …); stops everything after."""
    started = []

    def phases():
        names = [f"cls{index:02d}" for index in range(1, count + 1)]
        # The whole class may run at once: the hub's admission limit (sized from the machine's
        # memory) would otherwise turn learners away, and the machine is what is measured.
        world = start_real_course(
            course,
            assignment,
            instructor="teacher",
            learner=names[0],
            hub_settings={"active_server_limit": count},
        )
        started.append(world)
        phase = _enrol(world, course, names)
        yield "sunaba", phase
        # Stopping `sunaba up` also lifts its network policy, which keeps these accounts' processes
        # off every other port of this machine, the stock hub's among them.
        world.hub.stop()
        config_dir = release_stock(world.hub.root, course, assignment, csv)
        stock = StockHub(world.hub.root, environment={"JUPYTER_CONFIG_PATH": str(config_dir)})
        started.append(stock)
        phase = _stock_phase(stock, world, phase.people, course)
        yield "stock", phase

    try:
        yield phases()
    finally:
        for item in reversed(started):
            if isinstance(item, StockHub):
                item.close()
            else:
                stop_course_world(item)
