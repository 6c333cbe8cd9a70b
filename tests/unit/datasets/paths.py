"""Paths shared by the datasets tests."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
CATALOGUE_DIR = REPO / "datasets"
# CI clones the repository anywhere but always puts shared/ beside the clone.
MIRROR = REPO.parent / "shared" / "opendata"
