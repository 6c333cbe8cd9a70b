"""Table Schemas for five datasets of デジタル庁's 自治体標準オープンデータセット.

Column names, order and meanings follow the standard's item definitions (項目定義書,
https://www.digital.go.jp/resources/open_data/municipal-standard-data-set-test). Items the
standard marks as mandatory carry `required`; the others may be left out of a file
(`fieldsMatch: superset`: every column must be one of the standard's, but optional ones may be
missing). The `rules` and `rowSums` properties are Sunaba extensions (see `tableschema`).
"""

from __future__ import annotations

import copy
from typing import Any

SOURCE_URL = "https://www.digital.go.jp/resources/open_data/municipal-standard-data-set-test"
LAT_RANGE = (20.0, 46.0)  # 沖ノ鳥島 20.4° to 択捉島 45.6°
LON_RANGE = (122.0, 154.0)  # 与那国島 122.9° to 南鳥島 153.99°


def _f(name: str, description: str, kind: str = "string", **extra: Any) -> dict[str, Any]:
    field: dict[str, Any] = {"name": name, "type": kind, "description": description}
    field.update(extra)
    return field


def _required(field: dict[str, Any]) -> dict[str, Any]:
    field.setdefault("constraints", {})["required"] = True
    return field


LG_CODE = _required(
    _f(
        "全国地方公共団体コード",
        "データを管理する地方公共団体の全国地方公共団体コード（検査数字を含む6桁の半角数字。例: 372013）。",
        rules=["lg_code"],
    )
)
ID = _required(
    _f(
        "ID",
        "地方公共団体の中でデータを一意に識別する番号・記号（半角英数字）。",
        rules=["trimmed", "halfwidth"],
        constraints={"unique": True},
    )
)
LG_NAME = _required(
    _f(
        "地方公共団体名",
        "データを管理する地方公共団体の名前（都道府県名から。例: 香川県高松市）。",
        rules=["trimmed"],
    )
)
NAME = _required(_f("名称", "施設などの正式な名前。", rules=["trimmed"]))
NAME_KANA = _f("名称_カナ", "名称の読み（全角カタカナ）。", rules=["trimmed", "katakana"])
NAME_EN = _f(
    "名称_英字", "名称の英語表記またはローマ字表記（半角英数字）。", rules=["trimmed", "halfwidth"]
)
ADDRESS = [
    _f(
        "所在地_全国地方公共団体コード",
        "所在地の市区町村の全国地方公共団体コード（検査数字を含む6桁）。",
        rules=["lg_code"],
    ),
    _f(
        "町字ID",
        "アドレス・ベース・レジストリの町字ID（7桁の半角数字）。",
        constraints={"pattern": r"\d{7}"},
    ),
    _f("所在地_連結表記", "都道府県から建物名まで続けて書いた所在地。", rules=["trimmed"]),
    _f("所在地_都道府県", "所在地の都道府県名。", rules=["trimmed"]),
    _f("所在地_市区町村", "所在地の市区町村名（政令市の区を含む）。", rules=["trimmed"]),
    _f("所在地_町字", "所在地の町字（大字・丁目など）。", rules=["trimmed"]),
    _f(
        "所在地_番地以下",
        "所在地の番地・号（半角数字とハイフン）。",
        rules=["trimmed", "halfwidth"],
    ),
    _f("建物名等(方書)", "建物名・部屋番号など（方書）。", rules=["trimmed"]),
]
LATITUDE = _required(
    _f(
        "緯度",
        "世界測地系の緯度（10進数の度。日本国内は北緯20〜46度）。",
        "number",
        constraints={"minimum": LAT_RANGE[0], "maximum": LAT_RANGE[1]},
    )
)
LONGITUDE = _required(
    _f(
        "経度",
        "世界測地系の経度（10進数の度。日本国内は東経122〜154度）。",
        "number",
        constraints={"minimum": LON_RANGE[0], "maximum": LON_RANGE[1]},
    )
)
PHONE_PATTERN = r"0\d{1,4}-\d{1,4}-\d{3,4}"
CONTACT = [
    _f(
        "電話番号",
        "問い合わせ先の電話番号（市外局番から、半角数字とハイフン。例: 012-345-6789）。",
        rules=["halfwidth"],
        constraints={"pattern": PHONE_PATTERN},
    ),
    _f("内線番号", "電話の内線番号（半角数字）。", rules=["halfwidth"]),
    _f("連絡先メールアドレス", "問い合わせ先のメールアドレス。", format="email"),
    _f("連絡先FormURL", "問い合わせフォームのURL。", format="uri"),
    _f("連絡先備考（その他、SNSなど）", "そのほかの連絡先（SNS など）。"),
    _f(
        "郵便番号",
        "所在地の郵便番号（半角数字、3桁-4桁。例: 760-8571）。",
        rules=["halfwidth"],
        constraints={"pattern": r"\d{3}-\d{4}"},
    ),
]
HOURS = [
    _f("利用可能曜日", "利用できる曜日（例: 月火水木金）。"),
    _f("開始時間", "利用開始時刻（24時間制の HH:MM。例: 08:30）。", "time", format="%H:%M"),
    _f("終了時間", "利用終了時刻（24時間制の HH:MM。例: 17:15）。", "time", format="%H:%M"),
    _f("利用可能日時特記事項", "祝日・年末年始など、利用できる日時についての補足。"),
]
TAIL = [
    _f("URL", "詳しい情報のあるウェブページのURL。", format="uri"),
    _f("画像", "画像ファイルのURL。", format="uri"),
    _f("画像_ライセンス", "画像の利用条件（例: CC BY 4.0）。"),
    _f("備考", "そのほかの補足事項。"),
]
YES_NO = {"enum": ["有", "無"]}


def _schema(key: str, title: str, title_en: str, fields: list[dict], **extra: Any) -> dict:
    schema = {
        "name": key,
        "title": title,
        "title_en": title_en,
        "description": f"自治体標準オープンデータセット「{title}」の列構成（{SOURCE_URL}）。",
        "fieldsMatch": "superset",
        "missingValues": [""],
        "fields": copy.deepcopy(fields),
    }
    schema.update(extra)
    return schema


def _hazard(name: str) -> dict[str, Any]:
    return _f(
        f"災害種別_{name}",
        f"「{name}」に対応する指定緊急避難場所なら 1、対象外なら空欄。",
        "boolean",
        trueValues=["1"],
        falseValues=["0"],
    )


HAZARDS = [
    "洪水",
    "崖崩れ、土石流及び地滑り",
    "高潮",
    "地震",
    "津波",
    "大規模な火事",
    "内水氾濫",
    "火山現象",
]

AGE_BANDS = [f"{low}-{low + 4}歳" for low in range(0, 85, 5)] + ["85歳以上"]


def _age_fields() -> list[dict[str, Any]]:
    fields = []
    for band in AGE_BANDS:
        for sex in ("男性", "女性"):
            fields.append(
                _f(
                    f"{band}の{sex}",
                    f"{band}の{sex}の人口（人）。",
                    "integer",
                    constraints={"minimum": 0},
                )
            )
    return fields


STANDARDS: dict[str, dict[str, Any]] = {
    "public-facilities": _schema(
        "public-facilities",
        "公共施設一覧",
        "Public facilities",
        [
            LG_CODE,
            ID,
            LG_NAME,
            NAME,
            NAME_KANA,
            NAME_EN,
            _f("名称_通称", "通称・略称。", rules=["trimmed"]),
            _f(
                "POIコード",
                "施設の種類を表す POI コード（4桁の半角数字）。",
                constraints={"pattern": r"\d{4}"},
            ),
            *ADDRESS,
            LATITUDE,
            LONGITUDE,
            *CONTACT,
            _f(
                "法人番号",
                "施設を運営する法人の法人番号（13桁の半角数字）。",
                constraints={"pattern": r"\d{13}"},
            ),
            _f("団体名", "施設を運営する団体の名前。"),
            *HOURS,
            _f("説明", "施設の説明。"),
            _f("バリアフリー情報", "段差・スロープ・多目的トイレなどのバリアフリー情報。"),
            *TAIL,
        ],
    ),
    "designated-evacuation-sites": _schema(
        "designated-evacuation-sites",
        "指定緊急避難場所一覧",
        "Designated emergency evacuation sites",
        [
            LG_CODE,
            ID,
            LG_NAME,
            NAME,
            NAME_KANA,
            NAME_EN,
            *ADDRESS,
            LATITUDE,
            LONGITUDE,
            _f(
                "標高",
                "標高（メートル）。",
                "number",
                constraints={"minimum": -10, "maximum": 4000},
            ),
            *CONTACT,
            *[_hazard(name) for name in HAZARDS],
            _f(
                "想定収容人数",
                "想定している収容人数（人。半角数字のみ）。",
                "integer",
                constraints={"minimum": 0},
            ),
            _f("対象となる町会・自治会", "この避難場所を使う町会・自治会。"),
            *TAIL,
        ],
    ),
    "population-by-area-age": _schema(
        "population-by-area-age",
        "地域・年齢別人口",
        "Population by area and age",
        [
            LG_CODE,
            LG_NAME,
            _required(_f("調査年月日", "人口を数えた日（西暦の YYYY-MM-DD）。", "date")),
            _f("地域コード", "地方公共団体が定める地域（町丁・字）のコード。", rules=["halfwidth"]),
            _f(
                "町字ID",
                "アドレス・ベース・レジストリの町字ID（7桁の半角数字）。",
                constraints={"pattern": r"\d{7}"},
            ),
            _required(_f("地域名", "町丁・字などの地域の名前。", rules=["trimmed"])),
            _required(_f("総人口", "地域の総人口（人）。", "integer", constraints={"minimum": 0})),
            _f("男性", "男性の人口（人）。", "integer", constraints={"minimum": 0}),
            _f("女性", "女性の人口（人）。", "integer", constraints={"minimum": 0}),
            *_age_fields(),
            _f("世帯数", "地域の世帯数（世帯）。", "integer", constraints={"minimum": 0}),
            _f("備考", "そのほかの補足事項。"),
        ],
        rowSums=[
            {"total": "総人口", "parts": ["男性", "女性"]},
            {"total": "男性", "parts": [f"{band}の男性" for band in AGE_BANDS]},
            {"total": "女性", "parts": [f"{band}の女性" for band in AGE_BANDS]},
        ],
    ),
    "aed-locations": _schema(
        "aed-locations",
        "AED設置箇所一覧",
        "AED locations",
        [
            LG_CODE,
            ID,
            LG_NAME,
            NAME,
            NAME_KANA,
            NAME_EN,
            *ADDRESS,
            LATITUDE,
            LONGITUDE,
            _required(_f("設置位置", "建物の中で AED が置いてある場所（例: 1階正面玄関）。")),
            *CONTACT,
            *HOURS,
            _f(
                "小児対応設備の有無",
                "小児用パッド・小児モードの有無（有 または 無）。",
                constraints=YES_NO,
            ),
            *TAIL,
        ],
    ),
    "childcare-facilities": _schema(
        "childcare-facilities",
        "子育て施設一覧",
        "Childcare facilities",
        [
            LG_CODE,
            ID,
            LG_NAME,
            _required(
                _f(
                    "種別",
                    "施設の種別（保育所、認定こども園、幼稚園、児童館、地域子育て支援拠点など）。",
                )
            ),
            NAME,
            NAME_KANA,
            NAME_EN,
            *ADDRESS,
            LATITUDE,
            LONGITUDE,
            *CONTACT,
            _f(
                "FAX番号",
                "FAX番号（半角数字とハイフン）。",
                rules=["halfwidth"],
                constraints={"pattern": PHONE_PATTERN},
            ),
            _f(
                "法人番号",
                "施設を運営する法人の法人番号（13桁の半角数字）。",
                constraints={"pattern": r"\d{13}"},
            ),
            _f("団体名", "施設を運営する団体の名前。"),
            *HOURS,
            _f("定員", "定員（人。半角数字のみ）。", "integer", constraints={"minimum": 0}),
            _f("受入年齢", "受け入れる子どもの年齢（例: 生後6か月〜5歳）。"),
            _f("一時預かりの有無", "一時預かりの有無（有 または 無）。", constraints=YES_NO),
            *TAIL,
        ],
    ),
}

_BY_TITLE = {schema["title"]: key for key, schema in STANDARDS.items()}
_ALIASES = {"aed": "aed-locations", "shelters": "designated-evacuation-sites"}


def standard_names() -> list[str]:
    return list(STANDARDS)


def find_standard(name: str) -> dict[str, Any] | None:
    """A deep copy of a standard schema by id ("aed-locations"), alias ("aed") or title."""
    key = name.strip()
    key = _BY_TITLE.get(key, _ALIASES.get(key.lower(), key.lower()))
    schema = STANDARDS.get(key)
    return copy.deepcopy(schema) if schema is not None else None
