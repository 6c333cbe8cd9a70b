"""砂場市's places and people: the made-up constants and the rows of each file, before any
defect is planted (`sunaba.datasets.sunaba_city_defects`). Everything here is fictional."""

from __future__ import annotations

import random

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


def columns(standard: str) -> list[str]:
    schema = find_standard(standard)
    assert schema is not None
    return [item["name"] for item in schema["fields"]]


def _blank(standard: str) -> dict[str, str]:
    return dict.fromkeys(columns(standard), "")


class Maker:
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


def facilities_rows(make: Maker) -> list[dict[str, str]]:
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


def aed_rows(make: Maker, facilities: list[dict[str, str]]) -> list[dict[str, str]]:
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


def shelters_rows(make: Maker) -> list[dict[str, str]]:
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


def population_rows(make: Maker) -> list[dict[str, str]]:
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


def childcare_rows(make: Maker) -> list[dict[str, str]]:
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
