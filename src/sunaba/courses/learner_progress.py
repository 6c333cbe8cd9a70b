"""A learner's own progress for マイコース: per course and per assignment, how many questions
are passed, the state of each question, and how long until the due date (Japan time).

Everything is read for one login only: the learner's own check records, their own question
scores and progress rows. Which questions an assignment has comes from the released notebooks
(their `check("q1", ...)` calls, what every learner of the course receives), completed by the
learner's own records (a question checked or graded that the notebook does not name).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from sunaba.checks.records import CheckEvent
from sunaba.core.jadate import format_ja
from sunaba.courses.insight import days_to, natural_key, question_state
from sunaba.courses.insight_load import fold_checks
from sunaba.courses.insight_records import QuestionScore

STATE_JA = {
    "passed": "合格",
    "hinted": "ヒントを見て合格",
    "tried": "挑戦中",
    "none": "未着手",
}
STATE_MARK = {"passed": "●", "hinted": "◐", "tried": "△", "none": "・"}
STATE_COLOUR = {"passed": "#2e7d32", "hinted": "#2f6db5", "tried": "#e0a030", "none": "#e6e1d6"}
CHECK_CALL = re.compile(r"""\bcheck\(\s*(?:question\s*=\s*)?["']([A-Za-z0-9_.-]{1,64})["']""")


@dataclass
class Tally:
    """How many questions are in each state; `passed` counts 合格 with or without hints."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATE_JA, 0))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def passed(self) -> int:
        return self.counts["passed"] + self.counts["hinted"]

    def add(self, other: Tally) -> None:
        for key, value in other.counts.items():
            self.counts[key] += value

    def text(self, prefix: str = "") -> str:
        """「3 問中 2 問合格（ヒントを見て合格 1 問）、挑戦中 1 問」."""
        if not self.total:
            return "check で確かめる問題はありません"
        text = f"{prefix}{self.total} 問中 {self.passed} 問合格"
        if self.counts["hinted"]:
            text += f"（うちヒントを見て合格 {self.counts['hinted']} 問）"
        if self.counts["tried"]:
            text += f"、挑戦中 {self.counts['tried']} 問"
        return text


# -- questions of an assignment -------------------------------------------------------------

_scanned: dict[Path, tuple[tuple, list[str]]] = {}
_scan_lock = threading.Lock()


def notebook_questions(released: Path) -> list[str]:
    """The question ids the released notebooks check, in the order they first appear."""
    notebooks = sorted(p for p in released.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in notebooks)
    with _scan_lock:
        cached = _scanned.get(released)
        if cached and cached[0] == stamp:
            return cached[1]
    found: list[str] = []
    for path in notebooks:
        try:
            cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        except (OSError, ValueError, AttributeError):
            continue
        for cell in cells:
            if not isinstance(cell, dict) or cell.get("cell_type") != "code":
                continue
            source = cell.get("source", "")
            text = "".join(source) if isinstance(source, list) else str(source)
            for question in CHECK_CALL.findall(text):
                if question not in found:
                    found.append(question)
    with _scan_lock:
        _scanned[released] = (stamp, found)
    return found


def own_checks(session: Session, course_id: str, login: str) -> dict[tuple[str, str], tuple]:
    """{(assignment, question): (first_pass, first_check, max_hint, attempts, hints_before)} of
    one learner's own check records in one course, folded in the order they happened (the
    shape `sunaba.courses.insight.question_state` reads)."""
    e = CheckEvent
    rows = session.execute(
        select(e.id, e.assignment, e.question, e.kind, e.result, e.hint_level)
        .where(e.login == login, e.course == course_id)
        .order_by(e.id)
    )
    return fold_checks(rows)


def own_scored(session: Session, course_id: str, login: str) -> dict[str, list[str]]:
    """{assignment: [question]} of the learner's own autograded question scores."""
    q = QuestionScore
    found: dict[str, list[str]] = {}
    for assignment, question in session.execute(
        select(q.assignment_id, q.question)
        .where(q.course_id == course_id, q.login == login, q.manual.is_(False))
        .order_by(q.assignment_id, q.position)
    ):
        names = found.setdefault(assignment, [])
        if question not in names:
            names.append(question)
    return found


def question_states(
    assignment: str, known: list[str], scored: list[str], checks: dict
) -> list[tuple[str, str]]:
    """[(question, state)]: the notebook's questions first, then others of the learner's own
    records (graded, then checked) in natural order."""
    order = list(known)
    order += [q for q in scored if q not in order]
    extra = sorted({q for a, q in checks if a == assignment} - set(order), key=natural_key)
    return [(q, question_state(checks.get((assignment, q)), False)) for q in order + extra]


def tally(states: list[tuple[str, str]]) -> Tally:
    result = Tally()
    for _question, state in states:
        result.counts[state] += 1
    return result


# -- dates and bars -------------------------------------------------------------------------


def due_left(due: datetime | None, now: datetime) -> tuple[str, str]:
    """(text, key) of the time left: 「締切まであと 3 日」/ soon / 「締切を過ぎています」."""
    if due is None:
        return "締切はありません", "none"
    if due.tzinfo is None:
        due = due.replace(tzinfo=UTC)
    if due <= now:
        return "締切を過ぎています", "past"
    days = days_to(due, now)
    if days <= 0:
        return "今日が締切です", "soon"
    if days == 1:
        return "締切は明日です", "soon"
    return f"締切まであと {days} 日", "soon" if days <= 3 else "later"


def bar_svg(counts: dict[str, int], label: str, width: int = 240, height: int = 14) -> str:
    """A stacked bar (合格, ヒントを見て合格, 挑戦中, 未着手) with `label` as its text; every
    value put in is escaped here (the template marks the result safe)."""
    total = sum(counts.values())
    parts = [
        f'<svg class="bar" role="img" aria-label="{escape(label)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        f'<title>{escape(label)}</title>',
        f'<rect width="{width}" height="{height}" rx="3" fill="{STATE_COLOUR["none"]}"/>',
    ]  # fmt: skip
    x = 0.0
    for state in ("passed", "hinted", "tried"):
        share = width * counts.get(state, 0) / total if total else 0.0
        if share > 0:
            parts.append(
                f'<rect class="seg-{state}" x="{x:.1f}" width="{share:.1f}" height="{height}" '
                f'fill="{STATE_COLOUR[state]}"/>'
            )
        x += share
    parts.append(f'<rect width="{width}" height="{height}" rx="3" fill="none" stroke="#8a8170"/>')
    parts.append("</svg>")
    return "".join(parts)


# -- one course, as マイコース shows it -------------------------------------------------------

STATUS_JA = {
    None: "未取得",
    "fetched": "取得済み",
    "submitted": "提出済み",
    "graded": "採点済み",
    "feedback": "講評返却済み",
}


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)  # SQLite returns naive UTC
    return moment


def assignment_progress(a, login: str, known: list[str], scored, checks, now) -> dict:
    """What マイコース shows of one released assignment (`a`: a progress.AssignmentView)."""
    row = a.progress.get(login)
    status = row.status if row else None
    states = question_states(a.assignment_id, known, scored.get(a.assignment_id, []), checks)
    counts = tally(states)
    opens = _aware(a.opens)
    left, left_key = due_left(_aware(a.due), now)
    score = ""
    if row is not None and row.score is not None:
        score = f"{row.score:g} / {row.max_score:g} 点"
    return {
        "id": a.assignment_id,
        "title": a.title,
        "open": opens is None or opens <= now,
        "opens": format_ja(opens) if opens else "公開中",
        "due": format_ja(_aware(a.due)),
        "due_left": left,
        "due_key": left_key,
        "status": STATUS_JA.get(status, "取得済み"),
        "status_key": status or "none",
        "late": bool(row and row.late and row.submitted_at),
        "score": score,
        "questions": [
            {"id": q, "state": s, "label": STATE_JA[s], "mark": STATE_MARK[s]} for q, s in states
        ],
        "tally": counts,
        "summary": counts.text(),
        "bar": bar_svg(counts.counts, counts.text()) if counts.total else None,
    }


def course_progress(session: Session, view, login: str, released_dir, now=None) -> dict:
    """The learner's released assignments of one course (`view`: a progress.CourseView read
    for this login only) and the course totals. `released_dir(assignment)` is the folder of
    the released files in the exchange store."""
    now = now or datetime.now(UTC)
    checks = own_checks(session, view.course_id, login)
    scored = own_scored(session, view.course_id, login)
    assignments = []
    total = Tally()
    for a in view.assignments:
        if not a.released:
            continue
        folder = Path(released_dir(a.assignment_id))
        known = notebook_questions(folder) if folder.is_dir() else []
        item = assignment_progress(a, login, known, scored, checks, now)
        total.add(item["tally"])
        assignments.append(item)
    submitted = sum(a["status_key"] in ("submitted", "graded", "feedback") for a in assignments)
    summary_done = f"課題 {len(assignments)} 件中 {submitted} 件提出済み"
    done = {"passed": submitted, "none": len(assignments) - submitted}
    return {
        "assignments": assignments,
        "summary": total.text("全 ") if total.total else "",
        "bar": bar_svg(total.counts, total.text("全 ")) if total.total else None,
        "submitted": summary_done,
        "submitted_bar": bar_svg(done, summary_done) if assignments else None,
    }
