"""A course whose datasets are not fetched says so, in Japanese, on its pages and in the notebook,
with the command an admin runs; nothing crashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from sunaba.classroom.events import RecordsEvents
from sunaba.classroom.identity import Caller
from sunaba.classroom.pages import Pages
from sunaba.config.schema import SiteConfig
from sunaba.core.layout import exchange_root
from sunaba.core.state import public_datasets_dir
from sunaba.courses.course_settings import course_info
from sunaba.courses.model import parse_course
from sunaba.courses.progress import record_course, record_enrolments
from sunaba.datasets import load
from sunaba.datasets.catalogue import Catalogue
from sunaba.datasets.errors import DatasetError
from sunaba.exchange.store import ExchangeStore
from sunaba.records.db import session_scope
from tests.unit.test_up_datasets import DATA, write_dataset

COURSE = parse_course(
    {
        "id": "kiso",
        "title": {"ja": "基礎"},
        "instructors": ["teach"],
        "datasets": ["alpha", "beta"],
        "assignments": [{"id": "hw1", "title": {"ja": "宿題1"}, "due": "2099-06-30 17:00"}],
    },
    "test",
)
ANN = Caller("user", "ann", frozenset({"nbgrader-kiso"}))
TEACH = Caller("user", "teach", frozenset({"formgrade-kiso"}))


@pytest.fixture
def site(tmp_path) -> tuple[SiteConfig, Pages]:
    config = SiteConfig.model_validate(
        {"hub": {"prefix": str(tmp_path / "prefix"), "state_dir": str(tmp_path / "state")}}
    )
    for name in ("alpha", "beta"):
        write_dataset(public_datasets_dir(config), name)
    store = ExchangeStore(exchange_root(config))
    store.write_course_info("kiso", course_info(COURSE))
    store.release("kiso", "hw1", {"problem.ipynb": b"{}"})
    events = RecordsEvents(config, f"sqlite:///{tmp_path}/records.sqlite")
    with session_scope(events.url) as session:
        record_course(session, COURSE, ["hw1"])
        record_enrolments(session, "kiso", {"learner": {"ann"}, "instructor": {"teach"}})
    return config, Pages(config, events)


def fetched(config: SiteConfig, name: str) -> None:
    (public_datasets_dir(config) / name / "counts.csv").write_bytes(DATA)


def test_pages_name_the_missing_datasets_and_the_command(site):
    config, pages = site
    store = ExchangeStore(exchange_root(config))
    fetched(config, "alpha")
    learner_page = pages.my_courses(ANN, store)
    teacher_page = pages.course_page(TEACH, "kiso")
    for html in (learner_page, teacher_page):
        assert "このコースで使うデータが、まだこのサーバーに用意されていません" in html
        assert "sunaba datasets fetch beta" in html
        assert "sunaba datasets fetch alpha" not in html  # fetched: not mentioned
    assert "「課題一覧」タブ" in learner_page and "Assignments" not in learner_page

    fetched(config, "beta")
    for html in (pages.my_courses(ANN, store), pages.course_page(TEACH, "kiso")):
        assert "sunaba datasets fetch" not in html and 'class="missing-datasets"' not in html


def test_a_course_synced_before_datasets_were_listed_shows_no_notice(site):
    config, pages = site
    store = ExchangeStore(exchange_root(config))
    info = course_info(COURSE)
    del info["datasets"]
    store.write_course_info("kiso", info)
    assert 'class="missing-datasets"' not in pages.my_courses(ANN, store)
    assert 'class="missing-datasets"' not in pages.course_page(TEACH, "kiso")


def test_the_notebook_says_which_dataset_and_the_admin_command(site):
    config, _ = site
    catalogue = Catalogue([public_datasets_dir(config)])
    dataset = catalogue.get("beta")
    assert catalogue.find_file(dataset, dataset.resources[0]) is None  # no crash, just None
    with pytest.raises(DatasetError) as raised:
        load("beta", catalogue=catalogue)
    message = str(raised.value)
    assert "「beta」" in message and "まだダウンロードされていません" in message
    assert "sunaba datasets fetch beta" in message and "管理者" in message
    # In a notebook IPython shows these lines instead of a traceback.
    shown = raised.value._render_traceback_()
    assert any("sunaba datasets fetch beta" in line for line in shown)
    assert not any("Traceback" in line for line in shown)
    fetched(config, "beta")
    assert list(load("beta", catalogue=catalogue)["人数"]) == [2]


def test_the_repository_catalogue_names_the_fetch_command_for_each_course_dataset(tmp_path):
    """Every dataset a course in courses/ uses is a catalogue entry, so the message above
    (and `sunaba datasets fetch <name>`) applies to it."""
    from sunaba.courses.course_data import course_datasets

    repo = Path(__file__).resolve().parents[3]
    needed = course_datasets(repo / "courses")
    assert needed, "no course lists its datasets"
    catalogue = Catalogue([repo / "datasets"])
    for name in needed:
        catalogue.get(name)  # raises with a Japanese message naming it when unknown
