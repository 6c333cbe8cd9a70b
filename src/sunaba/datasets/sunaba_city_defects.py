"""The defects planted in 砂場市's files on purpose, each recorded where it is."""

from __future__ import annotations

from dataclasses import dataclass, field

from sunaba.datasets.standards import HAZARDS
from sunaba.datasets.sunaba_city_rows import CODE5, FULLWIDTH, HALF_KANA, Maker


@dataclass(frozen=True)
class PlantedDefect:
    """One defect put into a file on purpose; `row` counts the header as row 1."""

    file: str
    row: int
    column: str
    kind: str
    value: str


@dataclass
class City:
    """The generated city: rows per file (dicts keyed by column) and the planted defects."""

    rows: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    defects: list[PlantedDefect] = field(default_factory=list)

    def plant(self, file: str, index: int, column: str, kind: str, value: str) -> None:
        self.rows[file][index][column] = value
        self.defects.append(PlantedDefect(file, index + 2, column, kind, value))


def _pick(
    make: Maker, rows: list[dict[str, str]], count: int, taken: set[int], when=None
) -> list[int]:
    """Distinct row indexes, not yet used for another defect, that satisfy `when`."""
    candidates = [i for i, row in enumerate(rows) if i not in taken and (when is None or when(row))]
    chosen = sorted(make.rng.sample(candidates, count))
    taken.update(chosen)
    return chosen


def plant_defects(make: Maker, city: City) -> None:
    """The defects of every file, in a fixed order: the same seed plants the same ones."""
    for plant in (_facilities, _aed, _shelters, _population, _childcare):
        plant(make, city, set())


def _facilities(make: Maker, city: City, taken: set[int]) -> None:
    facilities = "public_facilities.csv"
    rows = city.rows
    for i in _pick(make, rows[facilities], 2, taken):
        city.plant(facilities, i, "全国地方公共団体コード", "five_digit_code", CODE5)
    for i in _pick(make, rows[facilities], 2, taken):
        city.plant(
            facilities,
            i,
            "電話番号",
            "fullwidth",
            rows[facilities][i]["電話番号"].translate(FULLWIDTH),
        )
    for i in _pick(make, rows[facilities], 2, taken):
        city.plant(facilities, i, "名称", "fullwidth_space", rows[facilities][i]["名称"] + "\u3000")
    for i in _pick(make, rows[facilities], 2, taken):
        city.plant(
            facilities,
            i,
            "名称_カナ",
            "halfwidth_kana",
            rows[facilities][i]["名称_カナ"].translate(HALF_KANA),
        )


def _aed(make: Maker, city: City, taken: set[int]) -> None:
    aed = "aed.csv"
    rows = city.rows
    for i in _pick(make, rows[aed], 2, taken):
        lat, lon = rows[aed][i]["緯度"], rows[aed][i]["経度"]
        city.plant(aed, i, "緯度", "swapped_latlon", lon)
        city.plant(aed, i, "経度", "swapped_latlon", lat)
    opening = lambda row: row["開始時間"] != ""  # noqa: E731
    for i in _pick(make, rows[aed], 2, taken, opening):
        hour, minute = map(int, rows[aed][i]["開始時間"].split(":"))
        city.plant(aed, i, "開始時間", "ampm", f"午前{hour}時" + (f"{minute}分" if minute else ""))
    for i in _pick(make, rows[aed], 1, taken, opening):
        hour, minute = map(int, rows[aed][i]["終了時間"].split(":"))
        city.plant(
            aed, i, "終了時間", "ampm", f"午後{hour - 12}時" + (f"{minute}分" if minute else "")
        )
    for i in _pick(make, rows[aed], 2, taken, lambda row: row["小児対応設備の有無"] == "有"):
        city.plant(aed, i, "小児対応設備の有無", "flag", "○")


def _shelters(make: Maker, city: City, taken: set[int]) -> None:
    shelters = "shelters.csv"
    rows = city.rows
    flagged = lambda row: any(row[f"災害種別_{h}"] == "1" for h in HAZARDS)  # noqa: E731
    for i, symbol in zip(
        _pick(make, rows[shelters], 3, taken, flagged), ["○", "○", "△"], strict=True
    ):
        hazard = next(h for h in HAZARDS if rows[shelters][i][f"災害種別_{h}"] == "1")
        city.plant(shelters, i, f"災害種別_{hazard}", "flag", symbol)
    big = lambda row: int(row["想定収容人数"]) >= 1000  # noqa: E731
    for i in _pick(make, rows[shelters], 3, taken, big):
        city.plant(
            shelters, i, "想定収容人数", "comma", f"{int(rows[shelters][i]['想定収容人数']):,}"
        )
    for i in _pick(make, rows[shelters], 1, taken):
        lat, lon = rows[shelters][i]["緯度"], rows[shelters][i]["経度"]
        city.plant(shelters, i, "緯度", "swapped_latlon", lon)
        city.plant(shelters, i, "経度", "swapped_latlon", lat)
    for i in _pick(make, rows[shelters], 1, taken):
        city.plant(shelters, i, "標高", "fullwidth", rows[shelters][i]["標高"].translate(FULLWIDTH))


def _population(make: Maker, city: City, taken: set[int]) -> None:
    population = "population.csv"
    rows = city.rows
    for i in _pick(make, rows[population], 2, taken):
        city.plant(population, i, "調査年月日", "wareki", "令和6年4月1日")
    for i in _pick(make, rows[population], 3, taken, lambda row: int(row["総人口"]) >= 1000):
        city.plant(population, i, "総人口", "comma", f"{int(rows[population][i]['総人口']):,}")
    for i in _pick(make, rows[population], 2, taken):
        city.plant(
            population, i, "男性", "fullwidth", rows[population][i]["男性"].translate(FULLWIDTH)
        )


def _childcare(make: Maker, city: City, taken: set[int]) -> None:
    childcare = "childcare.csv"
    rows = city.rows
    for i in _pick(make, rows[childcare], 1, taken):
        city.plant(
            childcare, i, "定員", "fullwidth", rows[childcare][i]["定員"].translate(FULLWIDTH)
        )
    for i in _pick(make, rows[childcare], 1, taken):
        hour, minute = map(int, rows[childcare][i]["開始時間"].split(":"))
        city.plant(
            childcare, i, "開始時間", "ampm", f"午前{hour}時" + (f"{minute}分" if minute else "")
        )
    for i in _pick(make, rows[childcare], 1, taken, lambda row: row["一時預かりの有無"] == "有"):
        city.plant(childcare, i, "一時預かりの有無", "flag", "○")
