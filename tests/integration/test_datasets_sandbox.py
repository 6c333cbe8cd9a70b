"""Datasets, bundled and fetched, are read-only at one path inside every sandbox, and
`sunaba.datasets.load` finds them there."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.hub import PREFIX, SUNABA

pytestmark = pytest.mark.integration

MIRROR = Path(__file__).resolve().parents[3] / "shared" / "opendata"


def test_bundled_and_fetched_datasets_load_inside_a_sandbox(hub):
    if not MIRROR.is_dir():
        pytest.skip(f"the open data mirror {MIRROR} is not beside this checkout")
    fetched = subprocess.run(
        [
            str(SUNABA),
            "--config",
            str(hub.config_file),
            "datasets",
            "fetch",
            "takamatsu-city-tax",
            "--mirror",
            str(MIRROR),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert fetched.returncode == 0, fetched.stderr + fetched.stdout
    learner = hub.new_learner("datareader")
    hub.spawn(learner)
    code = (
        "from sunaba.datasets import load\n"
        "census = load('census-2020-prefectures')\n"
        "print(len(census), int(census.select_dtypes('number').iloc[:, -1].sum()))\n"
        "tax = load('takamatsu-city-tax')\n"
        "print(len(tax) > 0)\n"
        "import sunaba.datasets, os\n"
        "print(os.environ['SUNABA_DATASETS_PATH'])\n"
        "try:\n"
        "    open(os.environ['SUNABA_DATASETS_PATH'] + '/x.csv', 'w')\n"
        "except OSError as exc:\n"
        "    print(exc.strerror)\n"
    )
    outcome = hub.run(learner, code)
    assert outcome["status"] == "ok", outcome["error"]
    lines = outcome["stdout"].splitlines()
    assert lines[0] == "47 126146099"
    assert lines[1] == "True"
    assert lines[2] == str(PREFIX / "share" / "datasets")
    assert lines[3] == "Read-only file system"
