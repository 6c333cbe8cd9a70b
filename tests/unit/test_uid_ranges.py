"""Each install's grading uid range in the machine's registry: claimed, refused on overlap with
a message naming both installs and the key to change, freed, and dropped with its state dir.
Also the names of each install's cgroups and run group."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from sunaba.config.loader import validate
from sunaba.grading.backends import FORMGRADER_UID_OFFSET
from sunaba.runtime.rungroup import RunGroup
from sunaba.sandbox import uid_ranges
from sunaba.sandbox.limits import learner_cgroup_parent
from sunaba.sandbox.uid_ranges import (
    GRADING_UID_SPAN,
    UidRangeConflict,
    check_uid_range,
    claim_uid_range,
    grading_uid_range,
    read_claims,
    release_uid_range,
)


def install(root: Path, name: str, base: int | None = None):
    state = root / name / "state"
    state.mkdir(parents=True)
    grading = {} if base is None else {"sandbox_uid_base": base}
    return validate(
        {
            "hub": {"state_dir": str(state), "prefix": str(root / name / "prefix")},
            "grading": grading,
        },
        "test",
    )


def test_span_covers_every_slot_of_both_grading_paths():
    # CLI workers from the base, the formgrader's from base + offset, each up to 256 × 2 uids.
    assert GRADING_UID_SPAN == 2 * FORMGRADER_UID_OFFSET
    config = validate({}, "test")
    assert grading_uid_range(config).start == 3_800_000_000  # the default install's, as ever


def test_second_install_with_the_same_range_is_refused_naming_both(tmp_path):
    registry = tmp_path / "etc" / "uid-ranges"
    first, second = install(tmp_path, "one"), install(tmp_path, "two")
    claim = claim_uid_range(first, registry)
    assert claim_uid_range(first, registry) == claim  # again: the same single line
    with pytest.raises(UidRangeConflict) as refused:
        claim_uid_range(second, registry)
    message = str(refused.value)
    assert "重なります" in message and "grading.sandbox_uid_base" in message
    assert first.hub.state_dir in message and second.hub.state_dir in message
    assert first.hub.prefix in message
    with pytest.raises(UidRangeConflict):
        check_uid_range(second, registry)
    # Nothing of the refused install was written.
    assert [c.state_dir for c in read_claims(registry)] == [first.hub.state_dir]


def test_suggested_base_is_accepted_and_distinct_ranges_coexist(tmp_path):
    registry = tmp_path / "uid-ranges"
    first = install(tmp_path, "one")
    claim_uid_range(first, registry)
    with pytest.raises(UidRangeConflict) as refused:
        claim_uid_range(install(tmp_path, "two"), registry)
    suggested = int(str(refused.value).split("（例えば ")[1].split("）")[0])
    second = install(tmp_path, "three", base=suggested)
    claim_uid_range(second, registry)
    assert set(grading_uid_range(first)).isdisjoint(grading_uid_range(second))
    assert len(read_claims(registry)) == 2


def test_overlap_at_one_uid_is_refused(tmp_path):
    registry = tmp_path / "uid-ranges"
    claim_uid_range(install(tmp_path, "one", base=1_000_000), registry)
    last = 1_000_000 + GRADING_UID_SPAN - 1
    with pytest.raises(UidRangeConflict):
        claim_uid_range(install(tmp_path, "two", base=last), registry)
    claim_uid_range(install(tmp_path, "three", base=last + 1), registry)


def test_release_and_removed_state_dir_free_the_range(tmp_path):
    registry = tmp_path / "uid-ranges"
    first, second = install(tmp_path, "one"), install(tmp_path, "two")
    claim_uid_range(first, registry)
    assert release_uid_range(first.hub.state_dir, registry)
    assert not release_uid_range(first.hub.state_dir, registry)
    claim_uid_range(second, registry)
    # The second install is removed without a release: its line goes at the next claim.
    Path(second.hub.state_dir).rmdir()
    claim_uid_range(first, registry)
    assert [c.state_dir for c in read_claims(registry)] == [first.hub.state_dir]


def test_unreadable_lines_are_ignored(tmp_path):
    registry = tmp_path / "uid-ranges"
    registry.write_text("garbage\n1 2\n")
    claim_uid_range(install(tmp_path, "one"), registry)
    assert len(read_claims(registry)) == 1


def _claim_in_child(config_json: str, registry: str, results) -> None:
    from sunaba.config.schema import SiteConfig

    config = SiteConfig.model_validate_json(config_json)
    try:
        claim_uid_range(config, Path(registry))
        results.put("claimed")
    except UidRangeConflict:
        results.put("refused")


def test_simultaneous_claims_of_one_range_admit_exactly_one(tmp_path):
    registry = tmp_path / "uid-ranges"
    configs = [install(tmp_path, f"i{n}") for n in range(6)]
    results = multiprocessing.get_context("fork").Queue()
    children = [
        multiprocessing.get_context("fork").Process(
            target=_claim_in_child, args=(c.model_dump_json(), str(registry), results)
        )
        for c in configs
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(60)
    outcomes = sorted(results.get(timeout=10) for _ in children)
    assert outcomes == ["claimed"] + ["refused"] * 5
    assert len(read_claims(registry)) == 1


def test_registry_path_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv(uid_ranges.REGISTRY_ENV, raising=False)
    assert uid_ranges.registry_path() == Path("/etc/sunaba/uid-ranges")
    monkeypatch.setenv(uid_ranges.REGISTRY_ENV, str(tmp_path / "r"))
    assert uid_ranges.registry_path() == tmp_path / "r"


def test_cgroup_and_run_group_names_are_per_install(tmp_path):
    assert learner_cgroup_parent("/var/lib/sunaba") == "sunaba"  # the default install's
    one, two = str(tmp_path / "one"), str(tmp_path / "two")
    assert len({learner_cgroup_parent(one), learner_cgroup_parent(two), "sunaba"}) == 3
    assert learner_cgroup_parent(one) == learner_cgroup_parent(one + "/")
    # A run group is named after its state dir (a cgroup v2 layout made under tmp_path).
    root = tmp_path / "cg"
    root.mkdir()
    (root / "cgroup.controllers").write_text("memory cpu pids\n")
    first, second = RunGroup(one, root=root), RunGroup(two, root=root)
    assert first.directory is not None and second.directory is not None
    assert first.directory != second.directory
    assert RunGroup(one + "/", root=root).directory == first.directory
