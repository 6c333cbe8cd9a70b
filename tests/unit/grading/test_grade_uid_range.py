"""`sunaba grade autograde` claims the install's grading uids as `sunaba up` does, also when no
hub runs, and refuses to grade as uids another install on this machine has claimed."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from sunaba.config.loader import validate
from sunaba.grading.cli import cmd_grade
from sunaba.sandbox.uid_ranges import REGISTRY_ENV, claim_uid_range, read_claims


def _site(root: Path, name: str) -> tuple[Path, dict]:
    state = root / name / "state"
    state.mkdir(parents=True)
    settings = {"hub": {"state_dir": str(state), "prefix": str(root / name / "prefix")}}
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path, settings


def _autograde(config: Path) -> int:
    args = argparse.Namespace(
        config=str(config),
        step="autograde",
        course="nope",
        assignment="hw1",
        student=None,
        detail=False,
        output=None,
    )
    return cmd_grade(args)


def test_autograde_claims_the_range_of_its_install(tmp_path, monkeypatch, capsys):
    registry = tmp_path / "uid-ranges"
    monkeypatch.setenv(REGISTRY_ENV, str(registry))
    config, settings = _site(tmp_path, "one")
    assert _autograde(config) == 1  # no such course: the claim comes first
    assert "重なります" not in capsys.readouterr().err
    assert [c.state_dir for c in read_claims(registry)] == [settings["hub"]["state_dir"]]


def test_autograde_refuses_the_range_of_another_install(tmp_path, monkeypatch, capsys):
    registry = tmp_path / "uid-ranges"
    monkeypatch.setenv(REGISTRY_ENV, str(registry))
    _, other = _site(tmp_path, "other")
    claim_uid_range(validate(other, "test"), registry)
    config, settings = _site(tmp_path, "one")
    assert _autograde(config) == 1
    err = capsys.readouterr().err
    assert "重なります" in err and "grading.sandbox_uid_base" in err, err
    assert other["hub"]["state_dir"] in err
    assert [c.state_dir for c in read_claims(registry)] == [other["hub"]["state_dir"]]
