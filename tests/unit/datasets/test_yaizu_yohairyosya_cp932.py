"""焼津市 要配慮者利用施設 through the mirror: a genuinely CP932 file (not plain Shift_JIS) with
line breaks inside quoted fields."""

from __future__ import annotations

import pandas as pd
import pytest

from sunaba.datasets import load, read_csv_ja, validate
from sunaba.datasets.catalogue import Catalogue
from sunaba.datasets.fetch import fetch
from tests.unit.datasets.paths import CATALOGUE_DIR

NAME = "yaizu-yohairyosya-cp932"


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory, mirror) -> Catalogue:
    cache = tmp_path_factory.mktemp("yaizu")
    results = fetch(Catalogue([CATALOGUE_DIR]), cache, [NAME], mirror=mirror)
    assert results and all(r.ok for r in results), [r.message for r in results]
    return Catalogue([cache])


@pytest.fixture(scope="module")
def path(catalogue):
    dataset = catalogue.get(NAME)
    return catalogue.find_file(dataset, dataset.resource("facilities"))


def test_only_cp932_decodes_it(path):
    data = path.read_bytes()
    data.decode("cp932")
    for encoding in ("utf-8", "shift_jis"):
        with pytest.raises(UnicodeDecodeError):
            data.decode(encoding)


def test_quoted_line_breaks_are_one_record(path):
    lines = path.read_bytes().decode("cp932").splitlines()
    assert len(lines) - 1 > 277  # a line-based count is wrong
    frame = read_csv_ja(path, quiet=True)
    assert frame.shape == (277, 16)
    assert frame["区分"].str.contains("\n").sum() == 38
    assert frame.columns[0] == "№"


def test_loads_and_validates(catalogue):
    typed = load(NAME, catalogue=catalogue)
    raw = load(NAME, raw=True, catalogue=catalogue)
    assert len(typed) == len(raw) == 277
    assert typed["№"].is_unique and typed["№"].max() == 285
    assert validate(raw, catalogue.get(NAME).resource("facilities").schema).empty
    assert typed["避難確保計画対象"].value_counts().to_dict() == {"○": 214, "対象外": 63}
    assert typed["所管課"].value_counts()["高齢者福祉課"] == 96
    assert pd.api.types.is_float_dtype(typed["緯度"])
