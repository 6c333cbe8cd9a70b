"""砂場市 (Sunaba City): a fictional city whose open data has the defects real files have.

Everything here is made up (架空のデータ): the city, its prefecture 砂場県, the code 999016,
the facilities, the people. Coordinates fall in the Pacific Ocean south of Honshu, phone numbers
use 0990 and the web site is `city.sunaba.example`, so nothing can be mistaken for a real place.

The files follow the column layouts of the 自治体標準オープンデータセット and carry defects
planted on purpose, each recorded as a `PlantedDefect`:

- CP932 encoding (公共施設一覧, 指定緊急避難場所一覧, 地域・年齢別人口), UTF-8 with BOM (AED),
- 全角 digits and 全角 spaces, half-width katakana in 名称_カナ,
- 和暦 dates and 午前/午後 times,
- a five-digit 全国地方公共団体コード without its check digit,
- latitude and longitude swapped,
- ○/△ where the standard wants 1 (or 有/無),
- numbers with thousands separators.

`build(seed)` is deterministic: the same seed gives the same bytes (a test regenerates the
files committed under `datasets/sunaba-city/` and compares them).
"""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import os
import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from sunaba.datasets.lgcode import lg_code_check_digit
from sunaba.datasets.standards import AGE_BANDS, HAZARDS, find_standard

SEED = 20240401
NAME = "sunaba-city"
CITY = "砂場市"
PREF = "砂場県"
CODE5 = "99901"
CODE = f"{CODE5}{lg_code_check_digit(CODE5)}"
LG_NAME = f"{PREF}{CITY}"
CENTER = (32.6, 137.6)
SITE = "https://www.city.sunaba.example"
NOTE = "架空のデータ"
SURVEY_DATE = "2024-04-01"

# (kanji, kana, romaji, suffix) of each 町; suffix is part of the address, not of facility names.
AREAS = [
    ("中央", "チュウオウ", "Chuo", "町"),
    ("本町", "ホンマチ", "Honmachi", ""),
    ("港", "ミナト", "Minato", "町"),
    ("浜", "ハマ", "Hama", "町"),
    ("東浜", "ヒガシハマ", "Higashihama", "町"),
    ("西浜", "ニシハマ", "Nishihama", "町"),
    ("砂丘", "サキュウ", "Sakyu", "町"),
    ("汐見", "シオミ", "Shiomi", "町"),
    ("松原", "マツバラ", "Matsubara", "町"),
    ("緑ケ丘", "ミドリガオカ", "Midorigaoka", ""),
    ("桜台", "サクラダイ", "Sakuradai", ""),
    ("若葉", "ワカバ", "Wakaba", "町"),
    ("旭", "アサヒ", "Asahi", "町"),
    ("栄", "サカエ", "Sakae", "町"),
    ("宮前", "ミヤマエ", "Miyamae", "町"),
    ("川端", "カワバタ", "Kawabata", "町"),
    ("城山", "シロヤマ", "Shiroyama", "町"),
    ("新町", "シンマチ", "Shinmachi", ""),
    ("北山", "キタヤマ", "Kitayama", "町"),
    ("南山", "ミナミヤマ", "Minamiyama", "町"),
    ("大砂", "オオスナ", "Osuna", ""),
    ("小砂", "コスナ", "Kosuna", ""),
    ("白浜", "シラハマ", "Shirahama", ""),
    ("岬", "ミサキ", "Misaki", "町"),
    ("日之出", "ヒノデ", "Hinode", "町"),
]
CHOME = {"本町": 3, "緑ケ丘": 2, "中央": 2, "桜台": 2}
KANJI_DIGITS = "〇一二三四五六七八九"

# (kind, kana, romaji, how many, POI-free label used in 団体名)
FACILITY_KINDS = [
    ("小学校", "ショウガッコウ", "Elementary School", 8),
    ("中学校", "チュウガッコウ", "Junior High School", 4),
    ("公民館", "コウミンカン", "Community Hall", 6),
    ("コミュニティセンター", "コミュニティセンター", "Community Center", 5),
    ("図書館", "トショカン", "Library", 2),
    ("体育館", "タイイクカン", "Gymnasium", 2),
    ("公園", "コウエン", "Park", 5),
]
CHILDCARE_KINDS = [
    ("保育所", "ホイクショ", "Nursery", "生後6か月～5歳", 5),
    ("認定こども園", "ニンテイコドモエン", "Kodomoen", "0歳～5歳", 3),
    ("幼稚園", "ヨウチエン", "Kindergarten", "3歳～5歳", 2),
    ("児童館", "ジドウカン", "Children's Hall", "0歳～18歳", 3),
    ("子育て支援センター", "コソダテシエンセンター", "Child Support Center", "0歳～3歳", 3),
]
AGE_WEIGHTS = [
    3.4,
    3.7,
    4.0,
    4.3,
    4.1,
    4.4,
    5.0,
    5.6,
    6.3,
    7.1,
    6.8,
    6.2,
    6.4,
    7.3,
    7.9,
    6.7,
    5.5,
    5.3,
]
HALF_KANA = str.maketrans(
    dict(
        zip(
            "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲンャュョッー",
            "ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜｦﾝｬｭｮｯｰ",
            strict=True,
        )
    )
    | {"ガ": "ｶﾞ", "ギ": "ｷﾞ", "グ": "ｸﾞ", "ゲ": "ｹﾞ", "ゴ": "ｺﾞ", "ザ": "ｻﾞ", "ジ": "ｼﾞ"}
    | {"ズ": "ｽﾞ", "ゼ": "ｾﾞ", "ゾ": "ｿﾞ", "ダ": "ﾀﾞ", "デ": "ﾃﾞ", "ド": "ﾄﾞ", "バ": "ﾊﾞ"}
    | {"ビ": "ﾋﾞ", "ブ": "ﾌﾞ", "ベ": "ﾍﾞ", "ボ": "ﾎﾞ", "パ": "ﾊﾟ", "ピ": "ﾋﾟ", "プ": "ﾌﾟ"}
    | {"ペ": "ﾍﾟ", "ポ": "ﾎﾟ", "ィ": "ｨ", "ェ": "ｪ", "ォ": "ｫ", "ァ": "ｧ"}
)
FULLWIDTH = str.maketrans("0123456789-.:", "０１２３４５６７８９－．：")


@dataclass(frozen=True)
class PlantedDefect:
    """One defect put into a file on purpose; `row` counts the header as row 1."""

    file: str
    row: int
    column: str
    kind: str
    value: str


@dataclass(frozen=True)
class FileSpec:
    path: str
    resource: str
    standard: str
    title: str
    encoding: str  # Python codec written
    declared: str  # encoding named in datapackage.yaml


FILES = [
    FileSpec(
        "public_facilities.csv",
        "public-facilities",
        "public-facilities",
        "公共施設一覧",
        "cp932",
        "cp932",
    ),
    FileSpec("aed.csv", "aed", "aed-locations", "AED設置箇所一覧", "utf-8-sig", "utf-8-sig"),
    FileSpec(
        "shelters.csv",
        "shelters",
        "designated-evacuation-sites",
        "指定緊急避難場所一覧",
        "cp932",
        "cp932",
    ),
    FileSpec(
        "population.csv",
        "population",
        "population-by-area-age",
        "地域・年齢別人口",
        "cp932",
        "cp932",
    ),
    FileSpec(
        "childcare.csv", "childcare", "childcare-facilities", "子育て施設一覧", "utf-8", "utf-8"
    ),
]


@dataclass
class City:
    """The generated city: rows per file (dicts keyed by column) and the planted defects."""

    rows: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    defects: list[PlantedDefect] = field(default_factory=list)

    def plant(self, file: str, index: int, column: str, kind: str, value: str) -> None:
        self.rows[file][index][column] = value
        self.defects.append(PlantedDefect(file, index + 2, column, kind, value))


@dataclass(frozen=True)
class Generated:
    files: dict[str, bytes]
    defects: list[PlantedDefect]


def _town(area: tuple[str, str, str, str], chome: int | None) -> str:
    kanji, _, _, suffix = area
    name = f"{kanji}{suffix}"
    return f"{name}{KANJI_DIGITS[chome]}丁目" if chome else name


def _towns() -> list[tuple[tuple[str, str, str, str], int | None]]:
    towns = []
    for area in AREAS:
        count = CHOME.get(area[0])
        if count:
            towns.extend((area, number) for number in range(1, count + 1))
        else:
            towns.append((area, None))
    return towns


def _columns(standard: str) -> list[str]:
    schema = find_standard(standard)
    assert schema is not None
    return [item["name"] for item in schema["fields"]]


def _blank(standard: str) -> dict[str, str]:
    return dict.fromkeys(_columns(standard), "")


class _Maker:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.towns = _towns()

    def point(self) -> tuple[str, str]:
        lat = CENTER[0] + self.rng.uniform(-0.035, 0.035)
        lon = CENTER[1] + self.rng.uniform(-0.045, 0.045)
        return f"{lat:.6f}", f"{lon:.6f}"

    def phone(self) -> str:
        return f"0990-{self.rng.randint(20, 89)}-{self.rng.randint(1000, 9999)}"

    def postcode(self) -> str:
        return f"000-{self.rng.randint(1, 99):02d}{self.rng.randint(0, 99):02d}"

    def address(self, town_index: int) -> dict[str, str]:
        area, chome = self.towns[town_index]
        town = _town(area, chome)
        number = f"{self.rng.randint(1, 30)}-{self.rng.randint(1, 20)}"
        return {
            "所在地_全国地方公共団体コード": CODE,
            "所在地_連結表記": f"{PREF}{CITY}{town}{number}",
            "所在地_都道府県": PREF,
            "所在地_市区町村": CITY,
            "所在地_町字": town,
            "所在地_番地以下": number,
        }

    def common(self, standard: str, ident: str) -> dict[str, str]:
        row = _blank(standard)
        row.update(
            {"全国地方公共団体コード": CODE, "ID": ident, "地方公共団体名": LG_NAME, "備考": NOTE}
        )
        return row


def _facilities(make: _Maker) -> list[dict[str, str]]:
    rows = []
    town_count = len(make.towns)
    head = make.common("public-facilities", "F0001")
    head.update(
        {
            "名称": f"{CITY}役所",
            "名称_カナ": "スナバシヤクショ",
            "名称_英字": "Sunaba City Hall",
            "利用可能曜日": "月火水木金",
            "開始時間": "08:30",
            "終了時間": "17:15",
            "URL": f"{SITE}/",
            "説明": "市の本庁舎（架空）。",
        }
    )
    head.update(make.address(0))
    rows.append(head)
    for kind, kana, english, count in FACILITY_KINDS:
        chosen = make.rng.sample(range(town_count), count)
        for town_index in sorted(chosen):
            area, _ = make.towns[town_index]
            ident = f"F{len(rows) + 1:04d}"
            row = make.common("public-facilities", ident)
            prefix, prefix_kana = ("", "") if kind == "公園" else (f"{CITY}立", "スナバシリツ")
            row.update(
                {
                    "名称": f"{prefix}{area[0]}{kind}",
                    "名称_カナ": f"{prefix_kana}{area[1]}{kana}",
                    "名称_英字": f"Sunaba {area[2]} {english}",
                    "利用可能曜日": ""
                    if kind == "公園"
                    else make.rng.choice(["月火水木金", "火水木金土日", "月火水木金土"]),
                    "URL": f"{SITE}/facilities/{ident.lower()}",
                }
            )
            if kind != "公園":
                row["開始時間"] = make.rng.choice(["08:30", "09:00", "10:00"])
                row["終了時間"] = make.rng.choice(["17:00", "17:15", "21:00"])
            row.update(make.address(town_index))
            rows.append(row)
    for row in rows:
        lat, lon = make.point()
        row.update(
            {"緯度": lat, "経度": lon, "電話番号": make.phone(), "郵便番号": make.postcode()}
        )
        row["団体名"] = LG_NAME
    return rows


def _aed(make: _Maker, facilities: list[dict[str, str]]) -> list[dict[str, str]]:
    rows = []
    places = [
        "1階ロビー",
        "正面玄関",
        "事務室前",
        "体育館入口",
        "２階　受付",
        "職員室",
        "管理棟1階",
    ]
    for facility in facilities:
        if facility["名称"].endswith("公園") and make.rng.random() < 0.6:
            continue
        row = make.common("aed-locations", f"A{len(rows) + 1:04d}")
        for key in (
            "名称",
            "名称_カナ",
            "名称_英字",
            "電話番号",
            "郵便番号",
            "利用可能曜日",
            "開始時間",
            "終了時間",
        ):
            row[key] = facility[key]
        for key, value in facility.items():
            if key.startswith("所在地_"):
                row[key] = value
        lat, lon = float(facility["緯度"]), float(facility["経度"])
        row["緯度"] = f"{lat + make.rng.uniform(-0.0004, 0.0004):.6f}"
        row["経度"] = f"{lon + make.rng.uniform(-0.0004, 0.0004):.6f}"
        row["設置位置"] = make.rng.choice(places)
        row["小児対応設備の有無"] = make.rng.choice(["有", "有", "無"])
        rows.append(row)
    return rows


def _shelters(make: _Maker) -> list[dict[str, str]]:
    rows = []
    names = [
        ("小学校", "ショウガッコウ", "Elementary School"),
        ("中学校", "チュウガッコウ", "Junior High School"),
    ]
    names += [
        ("公園", "コウエン", "Park"),
        ("コミュニティセンター", "コミュニティセンター", "Community Center"),
    ]
    for town_index in range(0, len(make.towns), 1):
        if make.rng.random() < 0.25:
            continue
        area, _ = make.towns[town_index]
        kind, kana, english = make.rng.choice(names)
        row = make.common("designated-evacuation-sites", f"S{len(rows) + 1:04d}")
        row.update(
            {
                "名称": f"{area[0]}{kind}",
                "名称_カナ": f"{area[1]}{kana}",
                "名称_英字": f"{area[2]} {english}",
                "標高": f"{make.rng.uniform(1.5, 45.0):.1f}",
                "電話番号": make.phone() if kind != "公園" else "",
                "想定収容人数": str(make.rng.randrange(150, 3200, 10)),
                "対象となる町会・自治会": f"{area[0]}地区自治会",
            }
        )
        row.update(make.address(town_index))
        lat, lon = make.point()
        row.update({"緯度": lat, "経度": lon})
        coastal = area[0] in ("港", "浜", "東浜", "西浜", "汐見", "白浜", "岬")
        for hazard in HAZARDS:
            fit = {
                "津波": not coastal,
                "高潮": not coastal,
                "火山現象": False,
                "崖崩れ、土石流及び地滑り": area[0] not in ("城山", "北山", "南山"),
            }.get(hazard, make.rng.random() < 0.85)
            row[f"災害種別_{hazard}"] = "1" if fit else ""
        rows.append(row)
    return rows


def _population(make: _Maker) -> list[dict[str, str]]:
    rows = []
    total_weight = sum(AGE_WEIGHTS)
    for index, (area, chome) in enumerate(make.towns):
        size = make.rng.randint(250, 4200)
        row = _blank("population-by-area-age")
        row.update(
            {
                "全国地方公共団体コード": CODE,
                "地方公共団体名": LG_NAME,
                "調査年月日": SURVEY_DATE,
                "地域コード": f"{index + 1:03d}",
                "地域名": _town(area, chome),
                "備考": NOTE,
            }
        )
        men = women = 0
        for band, weight in zip(AGE_BANDS, AGE_WEIGHTS, strict=True):
            old = AGE_BANDS.index(band) >= 15
            share_women = 0.5 + (0.08 if old else 0.0) + make.rng.uniform(-0.03, 0.03)
            count = max(0, round(size * weight / total_weight * make.rng.uniform(0.7, 1.3)))
            female = round(count * share_women)
            male = count - female
            row[f"{band}の男性"] = str(male)
            row[f"{band}の女性"] = str(female)
            men += male
            women += female
        row.update({"男性": str(men), "女性": str(women), "総人口": str(men + women)})
        row["世帯数"] = str(round((men + women) / make.rng.uniform(1.9, 2.6)))
        rows.append(row)
    return rows


def _childcare(make: _Maker) -> list[dict[str, str]]:
    rows = []
    for kind, kana, english, ages, count in CHILDCARE_KINDS:
        for town_index in sorted(make.rng.sample(range(len(make.towns)), count)):
            area, _ = make.towns[town_index]
            row = make.common("childcare-facilities", f"C{len(rows) + 1:04d}")
            public = make.rng.random() < 0.5
            row.update(
                {
                    "種別": kind,
                    "名称": f"{CITY}立{area[0]}{kind}" if public else f"{area[0]}{kind}",
                    "名称_カナ": f"スナバシリツ{area[1]}{kana}" if public else f"{area[1]}{kana}",
                    "名称_英字": f"Sunaba {area[2]} {english}",
                    "電話番号": make.phone(),
                    "郵便番号": make.postcode(),
                    "団体名": LG_NAME if public else f"社会福祉法人{area[0]}会（架空）",
                    "利用可能曜日": "月火水木金土",
                    "開始時間": make.rng.choice(["07:00", "07:30", "09:00"]),
                    "終了時間": make.rng.choice(["18:00", "19:00", "17:00"]),
                    "定員": str(make.rng.randrange(30, 200, 5)),
                    "受入年齢": ages,
                    "一時預かりの有無": make.rng.choice(["有", "無"]),
                }
            )
            row.update(make.address(town_index))
            lat, lon = make.point()
            row.update({"緯度": lat, "経度": lon})
            rows.append(row)
    return rows


def _pick(
    make: _Maker, rows: list[dict[str, str]], count: int, taken: set[int], when=None
) -> list[int]:
    """Distinct row indexes, not yet used for another defect, that satisfy `when`."""
    candidates = [i for i, row in enumerate(rows) if i not in taken and (when is None or when(row))]
    chosen = sorted(make.rng.sample(candidates, count))
    taken.update(chosen)
    return chosen


def _plant(make: _Maker, city: City) -> None:
    facilities, aed = "public_facilities.csv", "aed.csv"
    shelters, population, childcare = "shelters.csv", "population.csv", "childcare.csv"
    rows = city.rows
    taken: set[int] = set()
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

    taken = set()
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

    taken = set()
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

    taken = set()
    for i in _pick(make, rows[population], 2, taken):
        city.plant(population, i, "調査年月日", "wareki", "令和6年4月1日")
    for i in _pick(make, rows[population], 3, taken, lambda row: int(row["総人口"]) >= 1000):
        city.plant(population, i, "総人口", "comma", f"{int(rows[population][i]['総人口']):,}")
    for i in _pick(make, rows[population], 2, taken):
        city.plant(
            population, i, "男性", "fullwidth", rows[population][i]["男性"].translate(FULLWIDTH)
        )

    taken = set()
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


def generate_city(seed: int = SEED) -> City:
    make = _Maker(seed)
    city = City()
    facilities = _facilities(make)
    city.rows["public_facilities.csv"] = facilities
    city.rows["aed.csv"] = _aed(make, facilities)
    city.rows["shelters.csv"] = _shelters(make)
    city.rows["population.csv"] = _population(make)
    city.rows["childcare.csv"] = _childcare(make)
    _plant(make, city)
    city.defects.sort(key=lambda d: (d.file, d.row, d.column))
    return city


def _csv_bytes(spec: FileSpec, rows: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    columns = _columns(spec.standard)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row[column] for column in columns])
    return buffer.getvalue().encode(spec.encoding)


def _resource_schema(spec: FileSpec) -> dict:
    """The file as published: the standard's columns; the shelters' hazard flags as text,
    since the file mixes 1 with ○ and △."""
    schema = find_standard(spec.standard)
    assert schema is not None
    schema = copy.deepcopy(schema)
    schema["description"] = (
        f"架空の砂場市の{spec.title}。列構成は自治体標準オープンデータセットに従います。"
    )
    for item in schema["fields"]:
        if item["name"].startswith("災害種別_"):
            item["type"] = "string"
            item.pop("trueValues", None)
            item.pop("falseValues", None)
            item["description"] = (
                item["description"] + "（このファイルでは 1 のほかに ○・△ も混じっています）"
            )
    return schema


def _package(files: dict[str, bytes], seed: int) -> dict:
    resources = []
    for spec in FILES:
        data = files[spec.path]
        resources.append(
            {
                "name": spec.resource,
                "title": f"{spec.title}（架空のデータ）",
                "path": spec.path,
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": spec.declared,
                "bytes": len(data),
                "hash": f"sha256:{hashlib.sha256(data).hexdigest()}",
                "standard": spec.standard,
                "schema": _resource_schema(spec),
            }
        )
    return {
        "name": NAME,
        "title": "砂場市オープンデータ（架空のデータ）",
        "title_en": "Sunaba City open data (fictional)",
        "description": (
            "架空の自治体「砂場県砂場市」（全国地方公共団体コード 999016、実在しません）の公共施設・AED・"
            "指定緊急避難場所・子育て施設・地域別年齢別人口です。すべて架空のデータで、演習のために"
            "実際のオープンデータによくある不備（CP932 の文字コード、全角の数字や空白、半角カタカナ、"
            "和暦の日付、午前・午後の時刻、検査数字のない5桁のコード、緯度と経度の入れ替わり、○・△ の記号、"
            "桁区切りのカンマ）をわざと含めています。"
        ),
        "homepage": f"{SITE}/",
        "fictional": True,
        "contributors": [{"title": "Sunaba プロジェクト（架空の砂場市）", "role": "publisher"}],
        "sources": [
            {
                "title": f"src/sunaba/datasets/sunaba_city.py が生成（シード {seed}。架空のデータ）",
                "path": "src/sunaba/datasets/sunaba_city.py",
            }
        ],
        "licenses": [
            {
                "name": "CC0-1.0",
                "title": "CC0 1.0 全世界 パブリック・ドメイン提供",
                "path": "https://creativecommons.org/publicdomain/zero/1.0/deed.ja",
            }
        ],
        "attribution": "砂場市オープンデータ（架空のデータ。Sunaba プロジェクトが作成し、実在の自治体とは関係ありません）",
        "resources": resources,
    }


HEADER = "# 生成ファイル: sunaba datasets generate が書きます。手で直さないでください（架空のデータ）。\n"


def build(seed: int = SEED) -> Generated:
    """Every file of the dataset, datapackage.yaml included, as bytes; and the planted defects."""
    city = generate_city(seed)
    files = {spec.path: _csv_bytes(spec, city.rows[spec.path]) for spec in FILES}
    package = yaml.safe_dump(_package(files, seed), allow_unicode=True, sort_keys=False, width=100)
    files["datapackage.yaml"] = (HEADER + package).encode("utf-8")
    return Generated(files, city.defects)


def write(directory: Path, seed: int = SEED) -> Generated:
    """Write the dataset into `directory` (created if needed), each file replaced atomically."""
    generated = build(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in generated.files.items():
        fd, temp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.chmod(temp, 0o644)
            os.replace(temp, directory / name)
        finally:
            Path(temp).unlink(missing_ok=True)
    return generated
