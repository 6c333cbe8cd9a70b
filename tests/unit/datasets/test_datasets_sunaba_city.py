"""The fictional 砂場市: deterministic, labelled, and failing validation exactly where planted."""

import pandas as pd
import pytest

from sunaba.datasets import detect_encoding, load, read_csv_ja, validate, validate_lg_code
from sunaba.datasets import sunaba_city as city
from sunaba.datasets.sunaba_city_rows import CODE
from tests.unit.datasets.paths import CATALOGUE_DIR

FOLDER = CATALOGUE_DIR / city.NAME


@pytest.fixture(scope="module")
def generated():
    return city.build()


def test_same_seed_same_bytes(generated):
    assert city.build().files == generated.files


def test_committed_files_are_the_generated_ones(generated):
    committed = {path.name for path in FOLDER.iterdir()}
    assert committed == set(generated.files)
    for name, data in generated.files.items():
        assert (FOLDER / name).read_bytes() == data, f"{name}: run `sunaba datasets generate`"


def test_another_seed_differs(generated):
    other = city.build(seed=7)
    assert other.files["population.csv"] != generated.files["population.csv"]


def test_write_round_trip(tmp_path, generated):
    city.write(tmp_path)
    for name, data in generated.files.items():
        assert (tmp_path / name).read_bytes() == data
    assert not list(tmp_path.glob(".*"))


def test_code_is_fictional_but_well_formed():
    assert CODE == "999016"
    assert validate_lg_code(CODE) == CODE


@pytest.mark.parametrize("spec", city.FILES, ids=lambda spec: spec.path)
def test_validation_finds_exactly_the_planted_defects(spec, generated):
    frame = read_csv_ja(FOLDER / spec.path, dtype=str, keep_default_na=False, quiet=True)
    problems = validate(frame, spec.standard)
    found = {(int(row), column) for row, column in zip(problems["行"], problems["列"], strict=True)}
    planted = {(d.row, d.column) for d in generated.defects if d.file == spec.path}
    assert planted, "every file has defects"
    assert found == planted
    for defect in generated.defects:
        if defect.file == spec.path:
            assert frame.loc[defect.row - 2, defect.column] == defect.value


def test_every_kind_of_defect_is_planted(generated):
    kinds = {d.kind for d in generated.defects}
    assert kinds >= {
        "five_digit_code",
        "fullwidth",
        "fullwidth_space",
        "halfwidth_kana",
        "wareki",
        "ampm",
        "swapped_latlon",
        "flag",
        "comma",
    }
    assert {"○", "△"} <= {d.value for d in generated.defects if d.kind == "flag"}


def test_encodings_are_as_declared(repo_catalogue):
    dataset = repo_catalogue.get(city.NAME)
    for spec in city.FILES:
        assert detect_encoding(FOLDER / spec.path) == spec.encoding
        assert dataset.resource(spec.resource).encoding == spec.declared
    assert detect_encoding(FOLDER / "public_facilities.csv") == "cp932"


def test_every_row_says_fictional(repo_catalogue):
    for spec in city.FILES:
        frame = load(city.NAME, spec.resource, raw=True, catalogue=repo_catalogue)
        assert (frame["備考"] == "架空のデータ").all()


def test_loads_typed_despite_the_defects(repo_catalogue):
    population = load(city.NAME, "population", catalogue=repo_catalogue)
    assert str(population["総人口"].dtype) == "Int64"
    assert (population["調査年月日"] == pd.Timestamp(2024, 4, 1)).all()
    assert (population["総人口"] == population["男性"] + population["女性"]).all()
    aed = load(city.NAME, "aed", catalogue=repo_catalogue)
    assert aed["開始時間"].notna().any() and str(aed["緯度"].dtype) == "float64"
    shelters = load(city.NAME, "shelters", catalogue=repo_catalogue)
    assert str(shelters["想定収容人数"].dtype) == "Int64"
