"""How the scorer reads the judge's record: which questions a released test cell names, which
verdicts belong to which cell, and when a test cell that calls `assert_check` may pass."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from sunaba.grading.judging import attach_verdicts, cell_windows
from sunaba.grading.replay import NO_VERDICT, apply_verdicts, named_questions


def test_named_questions_come_from_the_calls_not_from_comments_or_other_names():
    source = (
        "assert len(x) == 3\n### BEGIN HIDDEN TESTS\n"
        'assert_check("q1", x)\n'
        'sunaba.checks.assert_check(question="q2", answer=y)\n'
        '# assert_check("q9", x)\n'
        'check("q3", x)\n'
        'assert_check("q1", x)\n'
        "### END HIDDEN TESTS\n"
    )
    assert named_questions(source) == ["q1", "q2"]
    # IPython syntax: the plain pattern still finds the calls.
    assert named_questions('%time assert_check("q4", x)\n') == ["q4"]
    assert named_questions("assert x == 1\n") == []


def _notebook(*sources: str, graded=(True,)) -> nbformat.NotebookNode:
    cells = []
    for index, source in enumerate(sources):
        grade = graded[index] if index < len(graded) else True
        meta = {"nbgrader": {"grade": grade, "solution": False, "grade_id": f"c{index}"}}
        cells.append(new_code_cell(source, metadata=meta, outputs=[]))
    return new_notebook(cells=cells)


def _errors(cell) -> list[str]:
    return [o["evalue"] for o in cell.outputs if o["output_type"] == "error"]


def test_a_test_cell_passes_only_on_recorded_passes_of_every_question_it_names():
    nb = _notebook(*['assert_check("q1", a)\nassert_check("q2", b)\n'] * 5, "x = 1\n")
    ok = {"question": "q1", "ok": True, "message": ""}
    ok2 = {"question": "q2", "ok": True, "message": ""}
    bad = {"question": "q1", "ok": False, "message": "数値が違います"}
    judged = {
        "cells": {
            "0": [ok, ok2],  # passes
            "1": [ok],  # q2 never judged in this cell
            "2": [ok, bad, ok2],  # a forged pass beside the real failure does not help
            "3": "not a list",
            # "4": nothing at all
        }
    }
    apply_verdicts(nb, judged)
    assert _errors(nb.cells[0]) == []
    assert _errors(nb.cells[1]) == [NO_VERDICT.format(question="q2")]
    assert _errors(nb.cells[2]) == ["q1: 数値が違います"]
    assert _errors(nb.cells[3]) == [NO_VERDICT.format(question="q1")]
    assert _errors(nb.cells[4]) == [NO_VERDICT.format(question="q1")]
    assert _errors(nb.cells[5]) == []  # names no question: its own outputs decide


def test_an_error_the_kernel_reported_stays_and_is_not_doubled():
    nb = _notebook('assert_check("q1", a)\nassert a > 0\n')
    nb.cells[0].outputs = [
        nbformat.v4.new_output("error", ename="AssertionError", evalue="", traceback=[])
    ]
    apply_verdicts(nb, {"cells": {"0": [{"question": "q1", "ok": True, "message": ""}]}})
    assert len(_errors(nb.cells[0])) == 1  # still failed: the plain assert's own error


def test_no_record_or_a_malformed_record_fails():
    nb = _notebook('assert_check("q1", a)\n')
    apply_verdicts(nb, None)  # nothing attached: no verdict, on either backend
    assert _errors(nb.cells[0]) == [NO_VERDICT.format(question="q1")]
    nb = _notebook('assert_check("q1", a)\n')
    apply_verdicts(nb, ["forged"])
    assert _errors(nb.cells[0]) == [NO_VERDICT.format(question="q1")]


def test_ungraded_cells_are_left_to_their_outputs():
    nb = _notebook('assert_check("q1", a)\n', graded=(False,))
    apply_verdicts(nb, {"cells": {}})
    assert _errors(nb.cells[0]) == []


def test_verdicts_go_to_the_cell_running_when_they_were_asked():
    executed = {
        "a.ipynb": {"cells": [], "metadata": {"sunaba_judge": {"cells": {"0": ["forged"]}}}},
        "b.ipynb": {"cells": [], "metadata": "not a dict"},
    }
    windows = {
        "a.ipynb": cell_windows({"0": [10, 20], "2": [30, 40], "bad": [1, 2], "3": "x"}),
        "b.ipynb": cell_windows({"1": [50, 60]}),
    }
    records = [
        {"t": 5, "question": "q0", "ok": True, "message": ""},  # before any cell: dropped
        {"t": 15, "question": "q1", "ok": True, "message": ""},
        {"t": 35, "question": "q2", "ok": False, "message": "違います"},
        {"t": 55, "question": "q3", "ok": True, "message": ""},
    ]
    attach_verdicts(executed, windows, records)
    assert executed["a.ipynb"]["metadata"]["sunaba_judge"] == {
        "cells": {
            "0": [{"question": "q1", "ok": True, "message": ""}],
            "2": [{"question": "q2", "ok": False, "message": "違います"}],
        }
    }
    assert executed["b.ipynb"]["metadata"]["sunaba_judge"] == {
        "cells": {"1": [{"question": "q3", "ok": True, "message": ""}]}
    }
