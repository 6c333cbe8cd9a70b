"""Where a class stands and where it is stuck, from the records database (no hub, no gradebook).

`load_course(session, course_id, assignment, now)` runs one small set of queries: the course,
its assignments, active learners and their names, progress rows, the per-question scores synced
from the gradebook, and the check records of one assignment aggregated in SQL. The rest is pure
arithmetic on those rows:

- per assignment: where learners are (未取得 → 取得済み → 提出済み → 採点済み → 講評返却済み; a
  graded submission still waiting for manual grading counts as 提出済み), the score distribution,
  who has not started and who is late, with days to the due date;
- per question (item analysis): first-try success rate and attempts until the first pass from the
  check records, hint use by the highest level seen, and, from the autograded scores, Moodle's
  facility index (mean score / maximum) and discrimination index (Pearson correlation of the item
  score with the rest-of-test score, i.e. the other autograded items of the assignment);
- per learner: each question passed / passed with hints / tried / not tried, and what waits for
  manual grading.

Nothing here reads what learners typed: check records hold only pass/fail and hint levels.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from sunaba.core.jadate import JST
from sunaba.courses.insight_load import Records, check_summary, load_records, load_scores

STAGES = ("none", "fetched", "submitted", "graded", "feedback")
STAGE_JA = {
    "none": "未取得",
    "fetched": "取得済み",
    "submitted": "提出済み",
    "graded": "採点済み",
    "feedback": "講評返却済み",
}
STATE_JA = {
    "passed": "合格",
    "hinted": "ヒントを見て合格",
    "tried": "挑戦中",
    "none": "未着手",
    "manual": "手動採点待ち",
}
BINS = ("0〜19%", "20〜39%", "40〜59%", "60〜79%", "80〜100%")


@dataclass
class AssignmentSummary:
    id: str
    title: str
    due: datetime | None
    released: bool
    funnel: dict[str, int]
    manual_pending: int
    histogram: list[int]
    not_started: list[tuple[str, int | None]]  # (login, days to due)
    late: list[tuple[str, int | None]]


@dataclass
class QuestionStats:
    question: str
    manual: bool = False
    tried: int = 0
    passed: int = 0
    first_try: int = 0
    attempts_to_pass: list[int] = field(default_factory=list)
    hint_levels: dict[int, int] = field(default_factory=dict)  # highest level -> learners
    facility: float | None = None
    discrimination: float | None = None
    scored: int = 0

    @property
    def stuck(self) -> int:
        return self.tried - self.passed

    @property
    def first_try_rate(self) -> float | None:
        return self.first_try / self.tried if self.tried else None

    @property
    def mean_attempts(self) -> float | None:
        found = self.attempts_to_pass
        return sum(found) / len(found) if found else None


@dataclass
class LearnerRow:
    login: str
    name: str
    stage: str
    manual_pending: list[str]
    score: float | None
    max_score: float | None
    late: bool
    states: dict[str, str]


@dataclass
class CourseInsight:
    course_id: str
    title: str
    learners: list[str]
    names: dict[str, str]
    assignments: list[AssignmentSummary]
    selected: str | None
    questions: list[QuestionStats]  # of the selected assignment, most stuck first
    rows: list[LearnerRow]


def days_to(due: datetime | None, now: datetime) -> int | None:
    """Calendar days (Japan time) from now to the due date; negative once it has passed."""
    if due is None:
        return None
    if due.tzinfo is None:
        due = due.replace(tzinfo=UTC)
    return (due.astimezone(JST).date() - now.astimezone(JST).date()).days


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)  # SQLite returns naive UTC
    return moment


def natural_key(text: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


def pearson(xs: list[float], ys: list[float]) -> float | None:
    n = len(xs)
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx <= 0 or syy <= 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def bin_of(score: float, max_score: float) -> int:
    share = score / max_score if max_score else 0.0
    return min(4, max(0, int(share * 5 + 1e-9)))


# -- analysis -------------------------------------------------------------------------------------


def pending_manual(records: Records) -> dict[tuple[str, str], list[str]]:
    """{(assignment, login): [questions waiting for manual grading]}."""
    pending: dict[tuple[str, str], list[str]] = {}
    for assignment, login, question in records.pending:
        pending.setdefault((assignment, login), []).append(question)
    return pending


def stage_of(row, waiting: bool) -> str:
    if row is None:
        return "none"
    if row.status == "graded" and waiting:
        return "submitted"
    return row.status if row.status in STAGES else "fetched"


def summarize(records: Records, now: datetime) -> list[AssignmentSummary]:
    pending = pending_manual(records)
    summaries = []
    for a in records.assignments:
        funnel = dict.fromkeys(STAGES, 0)
        histogram = [0] * len(BINS)
        not_started, late, waiting_count = [], [], 0
        due = _aware(a.due)
        days = days_to(due, now)
        for login in records.learners:
            row = records.progress.get((a.assignment_id, login))
            waiting = (a.assignment_id, login) in pending
            waiting_count += waiting
            stage = stage_of(row, waiting)
            funnel[stage] += 1
            if stage in ("graded", "feedback") and row.score is not None and row.max_score:
                histogram[bin_of(row.score, row.max_score)] += 1
            submitted = row is not None and row.submitted
            if stage == "none":
                not_started.append((login, days))
            if (submitted and row.late) or (not submitted and due is not None and due < now):
                late.append((login, days))
        summaries.append(
            AssignmentSummary(
                a.assignment_id, a.title, due, a.released, funnel, waiting_count, histogram,
                not_started, late,
            )
        )  # fmt: skip
    return summaries


def question_order(records: Records, assignment: str, checks: dict) -> list[str]:
    position: dict[str, int] = {}
    for a, _login, question, _m, _s, _x, _n, pos in records.scores:
        if a == assignment:
            position[question] = min(pos, position.get(question, pos))
    extra = sorted({q for _login, q in checks} - set(position), key=natural_key)
    known = sorted(position, key=lambda q: (position[q], natural_key(q)))
    return known + extra


def item_scores(records: Records, assignment: str) -> dict[str, dict[str, tuple[float, float]]]:
    """{login: {question: (score, max)}} of the autograded cells of one assignment."""
    found: dict[str, dict[str, tuple[float, float]]] = {}
    for a, login, question, manual, score, max_score, _n, _p in records.scores:
        if a != assignment or manual:
            continue
        got, top = found.setdefault(login, {}).get(question, (0.0, 0.0))
        found[login][question] = (got + (score or 0.0), top + (max_score or 0.0))
    return found


def facility_and_discrimination(stats: QuestionStats, items: dict) -> None:
    """Moodle's quiz statistics for one item over the learners with autograded scores."""
    xs, rests, top = [], [], 0.0
    for by_question in items.values():
        if stats.question not in by_question:
            continue
        score, max_score = by_question[stats.question]
        top = max(top, max_score)
        xs.append(score)
        rests.append(sum(s for q, (s, _m) in by_question.items() if q != stats.question))
    stats.scored = len(xs)
    if xs and top:
        stats.facility = sum(xs) / len(xs) / top
    stats.discrimination = pearson(xs, rests)


def analyse_questions(records: Records, assignment: str, checks: dict) -> list[QuestionStats]:
    manual = {q for a, _l, q, m, *_ in records.scores if a == assignment and m}
    stats = {
        q: QuestionStats(q, manual=q in manual) for q in question_order(records, assignment, checks)
    }
    enrolled = set(records.learners)
    for (login, question), (first_pass, first_check, max_hint, attempts, _h) in checks.items():
        if login not in enrolled or question not in stats:
            continue
        item = stats[question]
        item.tried += 1
        if max_hint:
            item.hint_levels[max_hint] = item.hint_levels.get(max_hint, 0) + 1
        if first_pass is not None:
            item.passed += 1
            item.attempts_to_pass.append(attempts)
            item.first_try += first_pass == first_check
    items = item_scores(records, assignment)
    for item in stats.values():
        if not item.manual:
            facility_and_discrimination(item, items)
    return sorted(stats.values(), key=stuck_key)


def stuck_key(item: QuestionStats) -> tuple:
    """Most stuck first: learners who tried and have not passed, then the lowest first-try rate,
    then the lowest facility; manual questions last."""
    rate = item.first_try_rate
    return (
        item.manual,
        -item.stuck,
        1.0 if rate is None else rate,
        1.0 if item.facility is None else item.facility,
        natural_key(item.question),
    )


def question_state(check: tuple | None, waiting: bool) -> str:
    if waiting:
        return "manual"
    if check is None:
        return "none"
    first_pass, _first_check, _max_hint, _attempts, hints_before = check
    if first_pass is None:
        return "tried"
    return "hinted" if hints_before else "passed"


def learner_rows(
    records: Records, assignment: str, questions: list[str], checks: dict
) -> list[LearnerRow]:
    pending = pending_manual(records)
    rows = []
    for login in records.learners:
        progress = records.progress.get((assignment, login))
        waiting = pending.get((assignment, login), [])
        states = {q: question_state(checks.get((login, q)), q in waiting) for q in questions}
        rows.append(
            LearnerRow(
                login=login,
                name=records.names.get(login, ""),
                stage=stage_of(progress, bool(waiting)),
                manual_pending=waiting,
                score=progress.score if progress else None,
                max_score=progress.max_score if progress else None,
                late=bool(progress and progress.late and progress.submitted),
                states=states,
            )
        )
    return rows


def default_assignment(records: Records) -> str | None:
    released = [a.assignment_id for a in records.assignments if a.released]
    active = {a for a, _login in records.progress}
    with_activity = [a for a in released if a in active]
    choices = with_activity or released or [a.assignment_id for a in records.assignments]
    return choices[-1] if with_activity else (choices[0] if choices else None)


def course_insight(
    session: Session, course_id: str, assignment: str | None = None, now: datetime | None = None
) -> CourseInsight | None:
    """Everything the dashboard shows, for `assignment` (default: the latest released one with
    activity). None when the course is unknown."""
    records = load_records(session, course_id)
    if records is None:
        return None
    now = now or datetime.now(UTC)
    known = [a.assignment_id for a in records.assignments]
    selected = assignment if assignment in known else default_assignment(records)
    questions: list[QuestionStats] = []
    rows: list[LearnerRow] = []
    if selected is not None:
        load_scores(session, records, selected)
        checks = check_summary(session, course_id, selected)
        questions = analyse_questions(records, selected, checks)
        order = question_order(records, selected, checks)
        rows = learner_rows(records, selected, order, checks)
    return CourseInsight(
        course_id=course_id,
        title=records.course.title,
        learners=records.learners,
        names=records.names,
        assignments=summarize(records, now),
        selected=selected,
        questions=questions,
        rows=rows,
    )
