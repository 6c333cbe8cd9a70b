"""The course texts, collected from the content: every notebook under exercises/<course>/
<assignment>/, its graders/<course>/<assignment>.py and every course README are test cases by
existing, so a new assignment is tested without touching this file.

- every `check("qN", …)` has a grader question with at least two hints and two typical
  mistakes, and each mistake's example, sent as `check` sends an answer, gets that mistake's message first;
- the code a 「ヒント」 line of a notebook shows is one of the question snippets the content
  tests run (tests/integration/courses/test_course_snippets.py);
- every 「ラベル」ボタン/タブ/メニュー a text tells the learner to use exists in the Japanese UI
  (Sunaba's assignment list, the ja-JP language pack, nbgrader's own menu, Sunaba's pages);
- each notebook opens with a markdown lesson and has 3–6 questions.

Graders are loaded with the courses' real datasets fetched through the mirror
(../shared/opendata) into a temporary SUNABA_DATASETS_PATH."""

from __future__ import annotations

import pytest

from sunaba.checks.grader import GraderDirectory, Question
from tests.support.course_texts import (
    GRADERS,
    as_checked,
    checked_questions,
    course_datasets,
    course_texts,
    grader_path,
    hint_code_spans,
    japanese_ui_labels,
    manual_answers,
    notebooks,
    real_datasets,  # noqa: F401 - fixture
    squeeze,
    unknown_labels,
    used_datasets,
)

NOTEBOOKS = notebooks()
NOTEBOOK_CASES = [pytest.param(nb, id=nb.id) for nb in NOTEBOOKS]
QUESTION_CASES = [
    pytest.param(nb.course, nb.assignment, qid, id=f"{nb.course}/{nb.assignment}/{qid}")
    for nb in NOTEBOOKS
    for qid in checked_questions(nb.read())
]
TEXT_CASES = [
    pytest.param(path, text, id=str(path.name if path.suffix == ".md" else path.stem))
    for path, text in course_texts()
]


def test_there_is_content_to_test():
    assert NOTEBOOKS, "no notebook under exercises/"
    assert QUESTION_CASES, "no check(...) call in any notebook"


@pytest.fixture(scope="module")
def graders(real_datasets) -> GraderDirectory:  # noqa: F811
    return GraderDirectory(GRADERS)


def question_of(graders: GraderDirectory, course: str, assignment: str, qid: str) -> Question:
    path = grader_path(course, assignment)
    assert path.is_file(), f'{path} がありません（ノートブックが check("{qid}", …) を呼びます）'
    questions = graders.questions(course, assignment)
    assert qid in questions, f"{path} に問題 {qid} がありません（あるもの: {sorted(questions)}）"
    return questions[qid]


# ----------------------------------------------------------------------------------------------
# check() calls and their graders


@pytest.mark.parametrize(("course", "assignment", "qid"), QUESTION_CASES)
def test_checked_question_has_hints_and_typical_mistakes(graders, course, assignment, qid):
    question = question_of(graders, course, assignment, qid)
    where = f"{grader_path(course, assignment)} {qid}"
    assert len(question.hints) >= 2, f"{where}: ヒントが {len(question.hints)} 個です（2 個以上）"
    assert len(question.mistakes) >= 2, (
        f"{where}: よくある間違い（mistakes）が {len(question.mistakes)} 個です（2 個以上）"
    )
    assert all(h.strip() for h in question.hints), f"{where}: 空のヒントがあります"


def spellings(value) -> list[str]:
    """How a scalar answer could be written in a hint (45600, 45,600, 45600.0)."""
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, int | float) or type(value).__module__ == "numpy":
        try:
            number = float(value)
        except (TypeError, ValueError):
            return []
        if abs(number) < 100:  # small numbers appear in hints for other reasons (1 行目, 3 桁)
            return []
        found = {f"{number:g}", f"{number:,.0f}" if number.is_integer() else f"{number:,}"}
        if number.is_integer():
            found.add(str(int(number)))
        return sorted(found)
    if isinstance(value, str) and len(value) >= 4:
        return [value]
    return []


@pytest.mark.parametrize(("course", "assignment", "qid"), QUESTION_CASES)
def test_hints_never_paste_the_expected_value(graders, course, assignment, qid):
    question = question_of(graders, course, assignment, qid)
    if question.expected is None:
        return  # a custom check: no single expected value to leak
    pasted = [
        (hint, text)
        for text in spellings(question.expected_value())
        for hint in question.hints
        if text in hint
    ]
    assert not pasted, f"{grader_path(course, assignment)} {qid}: ヒントに答えがあります: {pasted}"


@pytest.mark.parametrize(("course", "assignment", "qid"), QUESTION_CASES)
def test_each_typical_mistake_gets_its_own_message_first(graders, course, assignment, qid):
    question = question_of(graders, course, assignment, qid)
    assert question.mistakes, f"{grader_path(course, assignment)} {qid}: mistakes がありません"
    for number, mistake in enumerate(question.mistakes, start=1):
        verdict = question.judge(as_checked(mistake.example_value()))
        assert not verdict.ok, f"{qid} の間違い {number} の例が正解と判定されました"
        assert verdict.messages[0] == mistake.message, (
            f"{qid} の間違い {number}: 最初のメッセージが「{verdict.messages[0]}」で、"
            f"「{mistake.message}」ではありません"
        )


@pytest.mark.parametrize("notebook", NOTEBOOK_CASES)
def test_hint_lines_show_code_that_is_a_tested_snippet(graders, notebook):
    spans = hint_code_spans(notebook.read())
    if not spans:
        return  # nothing advised in a ヒント line: nothing to keep in step
    path = grader_path(notebook.course, notebook.assignment)
    assert path.is_file(), f"{notebook.id} に「ヒント」がありますが {path} がありません"
    snippets = [
        squeeze(s)
        for q in graders.questions(notebook.course, notebook.assignment).values()
        for s in q.snippets
    ]
    untested = [span for span in spans if not any(squeeze(span) in s for s in snippets)]
    assert not untested, (
        f"{notebook.id}: 「ヒント」のコードが {path} のどの snippets にも含まれていません: {untested}"
    )


# ----------------------------------------------------------------------------------------------
# UI labels


@pytest.fixture(scope="module")
def ui_labels() -> set[str]:
    labels = japanese_ui_labels()
    # The sources are really read: the assignment list's and the language pack's own labels.
    assert {"課題一覧", "取得", "提出", "フィードバックを取得", "選択したセルを実行"} <= labels
    return labels


@pytest.mark.parametrize(("path", "text"), TEXT_CASES)
def test_every_label_a_text_names_is_on_screen(ui_labels, path, text):
    unknown = unknown_labels(text, ui_labels)
    assert not unknown, f"{path}: 画面にないラベル: {'、'.join(unknown)}"


def test_an_english_label_that_is_not_on_screen_is_reported(ui_labels):
    text = "1. JupyterLab の「Assignments」タブで課題を取得します。\n2. 「取得」ボタンを押します。"
    assert unknown_labels(text, ui_labels) == ["「Assignments」タブ"]
    assert unknown_labels("「Fetch Feedback」ボタン", ui_labels) == ["「Fetch Feedback」ボタン"]
    assert unknown_labels("「課題一覧」タブの「フィードバックを取得」ボタン", ui_labels) == []
    assert unknown_labels("▶ ボタン「Run」を押します", ui_labels) == ["「Run」ボタン"]
    assert unknown_labels("▶ ボタン「選択したセルを実行」を押します", ui_labels) == []


# ----------------------------------------------------------------------------------------------
# Shape of a lesson


@pytest.mark.parametrize("notebook", NOTEBOOK_CASES)
def test_notebook_opens_with_a_lesson(notebook):
    cells = notebook.read().cells
    assert cells, f"{notebook.id}: セルがありません"
    first = cells[0]
    assert first.cell_type == "markdown", (
        f"{notebook.id}: 最初のセルが説明（Markdown）ではありません"
    )
    text = "".join(first.source.split())
    assert first.source.lstrip().startswith("#"), f"{notebook.id}: 最初のセルに見出しがありません"
    assert len(text) >= 100, f"{notebook.id}: 最初の説明が短すぎます（{len(text)} 文字）"


@pytest.mark.parametrize("notebook", NOTEBOOK_CASES)
def test_notebook_has_three_to_six_questions(notebook):
    content = notebook.read()
    count = len(checked_questions(content)) + len(manual_answers(content))
    assert 3 <= count <= 6, (
        f"{notebook.id}: 問題が {count} 問です（check が {checked_questions(content)}、"
        f"記述が {manual_answers(content)}）。3〜6 問にしてください"
    )


@pytest.mark.parametrize("course", sorted(used_datasets()))
def test_course_file_lists_every_dataset_its_notebooks_and_graders_use(course):
    listed = course_datasets().get(course)
    assert listed is not None, f"courses/{course}/course.yaml がありません"
    missing = sorted(used_datasets()[course] - listed)
    assert not missing, (
        f"courses/{course}/course.yaml の datasets: に {missing} がありません"
        "（ノートブックか採点ファイルが使っています。管理者の取得と採点の準備に必要です）"
    )


def test_a_hint_that_pastes_the_answer_is_caught():
    assert "45,600" in spellings(45600) and "45600" in spellings(45600.0)
    assert spellings(3) == [] and spellings(True) == []
    assert spellings("中央町一丁目") == ["中央町一丁目"]
