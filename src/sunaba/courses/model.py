"""What a course is: the schema of `courses/<id>/course.yaml`.

A course file is data written by instructors, so every problem is reported in Japanese with the
file and the key path, and unknown keys are errors (a misspelt `due` must not silently mean "no
due date"). Dates without a time zone are Japan time; a date without a time means the start of
the day for `opens` and the end of the day for `due`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sunaba.config.problems import Problem, ProblemsError

JST = timezone(timedelta(hours=9), "JST")
COURSE_ID = r"^[a-z][a-z0-9-]{1,22}$"
ASSIGNMENT_ID = r"^[a-z][a-z0-9_-]{0,39}$"
HUB_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,23}$")
COURSE_FILE = "course.yaml"


class LatePolicy(StrEnum):
    accept = "accept"  # accepted and marked late, no penalty
    zero = "zero"  # accepted and marked late, scored zero at autograde
    refuse = "refuse"  # the exchange refuses submissions after the due time


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Model):
    ja: str = Field(min_length=1, description="Japanese text, shown to learners.")
    en: str = Field("", description="English text (optional).")


def _to_datetime(value: Any, end_of_day: bool) -> Any:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=JST)
    if isinstance(value, date):
        moment = time(23, 59, 59) if end_of_day else time(0, 0)
        return datetime.combine(value, moment, tzinfo=JST)
    if isinstance(value, str):
        text = value.strip()
        try:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                return _to_datetime(date.fromisoformat(text), end_of_day)
            return _to_datetime(datetime.fromisoformat(text), end_of_day)
        except ValueError as exc:
            raise ValueError(f"日時として読めません: {text!r}") from exc
    return value


class Assignment(Model):
    id: str = Field(pattern=ASSIGNMENT_ID, description="Assignment id, also its folder name.")
    title: Text
    source: str = Field("", description="Folder under exercises/<course>/ (default: the id).")
    opens: datetime | None = Field(None, description="When learners can fetch it (None: now).")
    due: datetime | None = Field(None, description="Due time (None: no due time).")
    points: float | None = Field(
        None, ge=0, description="Total points; sync checks the notebooks add up to it."
    )
    late: LatePolicy = Field(LatePolicy.accept, description="What happens after the due time.")

    @field_validator("opens", mode="before")
    @classmethod
    def _opens(cls, value: Any) -> Any:
        return _to_datetime(value, end_of_day=False)

    @field_validator("due", mode="before")
    @classmethod
    def _due(cls, value: Any) -> Any:
        return _to_datetime(value, end_of_day=True)

    @field_validator("source")
    @classmethod
    def _plain_folder(cls, value: str) -> str:
        if value and not re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*", value):
            raise ValueError("フォルダ名には英数字と - _ . だけを使ってください")
        return value

    @model_validator(mode="after")
    def _order(self) -> Assignment:
        if self.opens and self.due and self.due <= self.opens:
            raise ValueError("due（締切）は opens（公開）より後にしてください")
        return self

    @property
    def folder(self) -> str:
        return self.source or self.id

    def is_open(self, now: datetime) -> bool:
        return self.opens is None or self.opens <= now


class Enrolment(Model):
    users: list[str] = Field(default_factory=list, description="Hub user names.")
    groups: list[str] = Field(
        default_factory=list, description="Hub groups whose members are enrolled (roster groups)."
    )
    departments: list[str] = Field(
        default_factory=list, description="所属: everyone whose roster department is listed."
    )

    @field_validator("users")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        bad = [name for name in value if not HUB_NAME.match(name)]
        if bad:
            raise ValueError(f"ハブのユーザー名として使えない名前があります: {', '.join(bad)}")
        return value


class Course(Model):
    id: str = Field(pattern=COURSE_ID, description="Course id: lower case, digits and '-'.")
    title: Text
    description: Text | None = None
    instructors: list[str] = Field(min_length=1, description="Hub user names of instructors.")
    graders: list[str] = Field(default_factory=list, description="Hub user names of graders.")
    enrolment: Enrolment = Field(default_factory=Enrolment)
    datasets: list[str] = Field(default_factory=list, description="Datasets the course uses.")
    assignments: list[Assignment] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _not_an_app_name(cls, value: str) -> str:
        # The grader account is `<prefix>_<id>`, a showcase app's `<prefix>_app<N>`.
        if re.fullmatch(r"app\d+", value):
            raise ValueError(
                "「app」と数字だけの id は使えません（ショーケースのアプリ名と重なります）"
            )
        return value

    @field_validator("instructors", "graders")
    @classmethod
    def _staff_names(cls, value: list[str]) -> list[str]:
        return Enrolment._names(value)

    @model_validator(mode="after")
    def _unique_assignments(self) -> Course:
        seen: set[str] = set()
        for assignment in self.assignments:
            if assignment.id in seen:
                raise ValueError(f"課題 id {assignment.id!r} が重複しています")
            seen.add(assignment.id)
        return self

    @property
    def staff(self) -> list[str]:
        return list(dict.fromkeys([*self.instructors, *self.graders]))

    def assignment(self, assignment_id: str) -> Assignment | None:
        return next((a for a in self.assignments if a.id == assignment_id), None)


# ----------------------------------------------------------------------------------------------
# Reading course files


class CourseError(ProblemsError):
    """A course file could not be read; `problems` says where and why (Japanese)."""


_MESSAGES = {
    "missing": "必須の項目がありません",
    "extra_forbidden": "知らない項目です（綴りを確かめてください）",
    "string_pattern_mismatch": "使えない文字が含まれています（英小文字・数字・- で始まりは英字）",
    "string_too_short": "空にはできません",
    "too_short": "少なくとも 1 つ必要です",
    "list_type": "リスト（- で始まる行）で書いてください",
    "string_type": "文字列で書いてください",
    "float_parsing": "数値で書いてください",
    "greater_than_equal": "0 以上にしてください",
    "enum": "accept・zero・refuse のどれかにしてください",
    "datetime_type": "日時（例 2025-06-30 17:00）で書いてください",
    "datetime_from_date_parsing": "日時（例 2025-06-30 17:00）で書いてください",
    "model_type": "項目の並び（キー: 値）で書いてください",
}


def _problems(exc: ValidationError, source: str) -> list[Problem]:
    problems = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"]) or "(全体)"
        message = _MESSAGES.get(err["type"])
        if message is None:
            message = str(err["msg"]).removeprefix("Value error, ")
        if (
            "input" in err
            and isinstance(err["input"], str | int | float)
            and err["type"] != "missing"
        ):
            message += f"（値: {err['input']!r}）"
        problems.append(Problem(source, path, message))
    return problems


def parse_course(data: Any, source: str, folder_name: str | None = None) -> Course:
    """Validate course data; the folder name must equal the course id."""
    if not isinstance(data, dict):
        raise CourseError([Problem(source, "(全体)", "キー: 値 の形で書いてください")])
    try:
        course = Course.model_validate(data)
    except ValidationError as exc:
        raise CourseError(_problems(exc, source)) from exc
    if folder_name is not None and course.id != folder_name:
        raise CourseError(
            [Problem(source, "id", f"フォルダ名 {folder_name!r} と同じにしてください")]
        )
    return course


def load_course_file(path: Path) -> Course:
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CourseError([Problem(source, "(ファイル)", "ファイルがありません")]) from exc
    except UnicodeDecodeError as exc:
        raise CourseError([Problem(source, "(ファイル)", "UTF-8 で保存してください")]) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{mark.line + 1} 行 {mark.column + 1} 桁" if mark else "(ファイル)"
        raise CourseError(
            [Problem(source, where, f"YAML として読めません: {getattr(exc, 'problem', exc)}")]
        ) from exc
    return parse_course(data, source, folder_name=path.parent.name)


@dataclass
class Catalogue:
    """Every course folder found: the valid courses, and the problems of the others."""

    courses: dict[str, Course]
    problems: dict[str, list[Problem]]


def load_catalogue(directory: Path) -> Catalogue:
    """Read `<directory>/*/course.yaml`. A broken file never hides the other courses."""
    courses: dict[str, Course] = {}
    problems: dict[str, list[Problem]] = {}
    if not directory.is_dir():
        return Catalogue(courses, problems)
    for folder in sorted(p for p in directory.iterdir() if p.is_dir()):
        path = folder / COURSE_FILE
        if not path.is_file():
            continue
        try:
            courses[folder.name] = load_course_file(path)
        except CourseError as exc:
            problems[folder.name] = exc.problems
    return Catalogue(courses, problems)
