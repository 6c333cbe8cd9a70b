"""Course sites as the hub pod on Kubernetes has them, for the formgrader-pod tests."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sunaba.config.loader import validate
from sunaba.deploy import k8s_layout as L
from sunaba.hub.apply import HubFacts
from sunaba.hub.areas import gather_areas
from tests.support.courses import FAR_FUTURE, write_course
from tests.support.hub import PREFIX

FACTS = HubFacts(sandbox_mode="kubernetes", hub_config_dir=Path(L.HUB_SOURCE_DIR) / "hub_config")


def facts_of(config) -> HubFacts:
    """FACTS with what the syncs left, read as the hub reads it before composing its config."""
    return replace(FACTS, areas=gather_areas(config))


NAMESPACE = "sunaba-test"


def site(data: Path, *, culler: bool = True, **sandbox):
    return validate(
        {
            "hub": {"prefix": str(PREFIX), "state_dir": str(data / "state")},
            "culler": {"enabled": culler},
            "sandbox": {"user_prefix": "k8st", **sandbox},
            "grading": {"backend": "kubernetes"},
            "courses": {
                "directory": str(data / "courses"),
                "exercises": str(data / "exercises"),
                "grading_dir": str(data / "course-dirs"),
                "service_port": 8100,
                "demo_accounts": False,
            },
        },
        "test",
    )


def add_course(data: Path, course_id: str) -> None:
    write_course(
        data / "courses",
        data / "exercises",
        course_id,
        instructors=["teach"],
        learners=["ann"],
        assignments=[{"id": "hw1", "title": {"ja": "宿題1"}, "due": FAR_FUTURE, "points": 4}],
    )
