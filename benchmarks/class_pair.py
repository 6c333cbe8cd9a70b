"""The local pair bench_class.py runs the class on: a Sunaba hub serving a real course of
courses/ to N learners, then a stock JupyterHub (its defaults: PAMAuthenticator's login form,
LocalProcessSpawner) on the Unix accounts Sunaba made, the assignment handed out as
files in each home. The stock hub starts only once Sunaba's phase is over and its hub stopped:
the accounts exist then, and the two hubs never share the machine's two cores."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import yaml
from benchmarks.stock import StockHub
from tests.support.courses import stop_course_world
from tests.support.real_course import MIRROR, source_notebook, start_real_course


@dataclass
class Phase:
    """A running hub and its learners (name -> password); `token` may stop their servers."""

    url: str
    token: str
    people: dict[str, str]


def _enrol(world, course: str, names: list[str]) -> Phase:
    """Enrol every learner in the course, then sign them up and have them approved."""
    course_file = world.courses / course / "course.yaml"
    data = yaml.safe_load(course_file.read_text(encoding="utf-8"))
    data["enrolment"]["users"] = names
    course_file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    world.sync()
    people = {name: world.hub.new_learner(name).password for name in names}
    return Phase(world.hub.url, world.hub.service_token(), people)


def _hand_out(world, accounts: list[str], course: str, assignment: str, csv: str) -> None:
    """Put the notebook and its CSV in each learner's home, as a teacher using stock would."""
    notebook = source_notebook(course, assignment)
    dataset = MIRROR / "takamatsu-population" / csv
    for account in accounts:
        folder = world.hub.home_root / account / course / assignment
        folder.mkdir(parents=True, exist_ok=True)
        for source in (notebook, dataset):
            shutil.copy(source, folder / source.name)
        uid = pwd.getpwnam(account).pw_uid
        for path in (folder.parent, folder, *folder.iterdir()):
            os.chown(path, uid, -1)


def _stock_phase(stock: StockHub, world, people: dict[str, str], course, assignment, csv):
    """The same people log in to the stock hub's default PAMAuthenticator with their Unix
    account and password (set here on the accounts this run's Sunaba hub made)."""
    accounts = {world.hub.user_prefix + name: password for name, password in people.items()}
    lines = "".join(f"{account}:{password}\n" for account, password in accounts.items())
    subprocess.run(["chpasswd"], input=lines, text=True, check=True, timeout=120)
    _hand_out(world, list(accounts), course, assignment, csv)
    return Phase(stock.url, stock.token, accounts)


@contextlib.contextmanager
def local_pair(course, assignment, count: int, csv: str) -> Iterator[Iterator[tuple[str, Phase]]]:
    """Yields the phases to run, ("sunaba", …) then ("stock", …); stops everything after."""
    started = []

    def phases():
        names = [f"cls{index:02d}" for index in range(1, count + 1)]
        world = start_real_course(course, assignment, instructor="teacher", learner=names[0])
        started.append(world)
        phase = _enrol(world, course, names)
        yield "sunaba", phase
        # Stopping `sunaba up` also lifts its network policy, which keeps these accounts' processes
        # off every other port of this machine, the stock hub's among them.
        world.hub.stop()
        stock = StockHub(world.hub.root)
        started.append(stock)
        phase = _stock_phase(stock, world, phase.people, course, assignment, csv)
        yield "stock", phase

    try:
        yield phases()
    finally:
        for item in reversed(started):
            if isinstance(item, StockHub):
                item.close()
            else:
                stop_course_world(item)
