"""What the dashboard template shows, built from a `CourseInsight`: charts with their tables, the
lists of learners to follow up, and one row per learner. Japanese text, plain words."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

from sunaba.core.jadate import format_ja
from sunaba.courses.insight import BINS, STAGE_JA, STAGES, STATE_JA, CourseInsight, QuestionStats
from sunaba.courses.insight_svg import STAGE_COLOURS, Bar, Chart, bar_chart, stacked_chart

STATE_MARK = {"passed": "●", "hinted": "◐", "tried": "△", "none": "・", "manual": "✎"}


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def days_text(days: int | None) -> str:
    if days is None:
        return "締切なし"
    if days > 0:
        return f"締切まであと {days} 日"
    return "今日が締切" if days == 0 else f"締切を {-days} 日過ぎています"


def overview_chart(view: CourseInsight) -> Chart:
    legend = [(STAGE_JA[s], STAGE_COLOURS[i]) for i, s in enumerate(STAGES)]
    bars, rows = [], []
    for a in view.assignments:
        counts = [a.funnel[s] for s in STAGES]
        text = "、".join(f"{STAGE_JA[s]} {a.funnel[s]} 人" for s in STAGES)
        segments = [(STAGE_JA[s], a.funnel[s], STAGE_COLOURS[i]) for i, s in enumerate(STAGES)]
        bars.append(Bar(a.title, sum(counts), text, segments=segments))
        rows.append([a.title, *map(str, counts), str(a.manual_pending), str(len(a.late))])
    done = sum(a.funnel["graded"] + a.funnel["feedback"] for a in view.assignments)
    desc = (
        f"課題 {len(view.assignments)} 件それぞれで、受講者 {len(view.learners)} 人がどの段階に"
        f"いるかを色分けした横棒グラフです。採点まで終わったのはのべ {done} 人分です。"
    )
    headers = ["課題", *[STAGE_JA[s] for s in STAGES], "手動採点待ち", "締切後・未提出"]
    return stacked_chart("overview", "課題ごとの進み具合", desc, bars, headers, rows, legend)


def funnel_chart(view: CourseInsight, a) -> Chart:
    bars = [
        Bar(STAGE_JA[s], a.funnel[s], f"{a.funnel[s]} 人", STAGE_COLOURS[i])
        for i, s in enumerate(STAGES)
    ]
    rows = [[STAGE_JA[s], str(a.funnel[s])] for s in STAGES]
    most = max(STAGES, key=lambda s: a.funnel[s])
    desc = (
        f"「{a.title}」の受講者 {len(view.learners)} 人の段階別の人数です。いちばん多いのは"
        f"{STAGE_JA[most]}（{a.funnel[most]} 人）です。手動採点待ちの {a.manual_pending} 人は"
        "提出済みに数えています。"
    )
    return bar_chart(
        "funnel", f"「{a.title}」の進み具合", desc, bars, ["段階", "人数"], rows,
        max_value=max(1, len(view.learners)),
    )  # fmt: skip


def histogram_chart(a) -> Chart:
    total = sum(a.histogram)
    bars = [Bar(b, n, f"{n} 人", "#7a5cc2") for b, n in zip(BINS, a.histogram, strict=True)]
    rows = [[b, str(n)] for b, n in zip(BINS, a.histogram, strict=True)]
    desc = (
        f"「{a.title}」の採点が終わった {total} 人の得点（満点に対する割合）の分布です。"
        if total
        else f"「{a.title}」はまだ採点が終わった人がいません。"
    )
    return bar_chart("scores", f"「{a.title}」の得点分布", desc, bars, ["得点", "人数"], rows)


def question_row(q: QuestionStats) -> list[str]:
    hints = "、".join(f"{lv}段階目 {n} 人" for lv, n in sorted(q.hint_levels.items())) or "なし"
    attempts = "—" if q.mean_attempts is None else f"{q.mean_attempts:.1f} 回"
    discrimination = "—" if q.discrimination is None else f"{q.discrimination * 100:.0f}%"
    kind = "手動採点" if q.manual else ""
    return [
        q.question + (f"（{kind}）" if kind else ""),
        str(q.tried), str(q.passed), str(q.stuck), percent(q.first_try_rate), attempts, hints,
        percent(q.facility), discrimination, str(q.scored),
    ]  # fmt: skip


QUESTION_HEADERS = [
    "問題", "挑戦した人", "合格した人", "つまずき中", "1回目で合格", "合格までの回数（平均）",
    "ヒントの利用（最も進んだ段階）", "正答率（facility）", "識別力（discrimination）", "採点済み",
]  # fmt: skip


def questions_chart(view: CourseInsight, title: str) -> Chart:
    checked = [q for q in view.questions if not q.manual]
    bars = [
        Bar(q.question, q.stuck,
            f"{q.stuck} 人（挑戦 {q.tried} 人、1回目で合格 {percent(q.first_try_rate)}）", "#c75b12")
        for q in checked
    ]  # fmt: skip
    if checked:
        worst = checked[0]
        desc = (
            f"「{title}」の問題ごとに、チェックを試してまだ合格していない人の数を、多い順に"
            f"並べた横棒グラフです。いちばんつまずいているのは {worst.question} で、"
            f"挑戦した {worst.tried} 人のうち {worst.stuck} 人がまだ合格していません。"
        )
    else:
        desc = f"「{title}」にはまだチェックの記録がありません。"
    rows = [question_row(q) for q in view.questions]
    return bar_chart(
        "questions", f"「{title}」問題別: つまずいている人数", desc, bars, QUESTION_HEADERS,
        rows, max_value=max(1, len(view.learners)),
    )  # fmt: skip


@dataclass
class Dashboard:
    overview: Chart
    funnel: Chart | None
    histogram: Chart | None
    questions: Chart | None
    selected: object | None
    question_ids: list[str]
    learners: list[dict]
    follow_up: dict[str, list[dict]]


def cell_html(question: str, state: str) -> str:
    """One question cell of a learner row (pre-rendered: 500 × 5 cells through the template
    engine cost more than the rest of the page)."""
    q = escape(question)
    text = f"{q}: {STATE_JA[state]}"
    return (
        f'<td class="q q-{state}" data-question="{q}" data-state="{state}" title="{text}">'
        f'<span aria-label="{text}">{STATE_MARK[state]}</span></td>'
    )


def learner_dicts(view: CourseInsight, order: list[str], formgrader: str) -> list[dict]:
    rows = []
    for r in view.rows:
        score = "" if r.score is None else f"{r.score:g} / {(r.max_score or 0):g} 点"
        rows.append({
            "login": r.login,
            "name": r.name,
            "stage": "手動採点待ち" if r.manual_pending else STAGE_JA[r.stage],
            "stage_key": "manual" if r.manual_pending else r.stage,
            "score": score if not r.manual_pending else f"{score}（手動採点待ち）".lstrip(),
            "manual": r.manual_pending,
            "late": r.late,
            "cells": Markup(  # noqa: S704 - cell_html escapes the question id; states are fixed
                "".join(cell_html(q, r.states.get(q, "none")) for q in order)
            ),
            "formgrader": f"{formgrader}/manage_students/{r.login}/{view.selected}"
            if r.stage not in ("none", "fetched") else "",
        })  # fmt: skip
    return rows


def dashboard(view: CourseInsight, formgrader: str) -> Dashboard:
    selected = next((a for a in view.assignments if a.id == view.selected), None)
    order = [q for q in view.rows[0].states] if view.rows else []
    names = view.names
    follow_up = {}
    if selected is not None:
        follow_up = {
            "not_started": [
                {"login": lg, "name": names.get(lg, ""), "days": days_text(d)}
                for lg, d in selected.not_started
            ],
            "late": [
                {"login": lg, "name": names.get(lg, ""), "days": days_text(d)}
                for lg, d in selected.late
            ],
        }
    return Dashboard(
        overview=overview_chart(view),
        funnel=funnel_chart(view, selected) if selected else None,
        histogram=histogram_chart(selected) if selected else None,
        questions=questions_chart(view, selected.title) if selected else None,
        selected={"id": selected.id, "title": selected.title, "due": format_ja(selected.due)}
        if selected
        else None,
        question_ids=order,
        learners=learner_dicts(view, order, formgrader),
        follow_up=follow_up,
    )
