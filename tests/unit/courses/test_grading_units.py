"""Grading pieces that need no hub: hidden tests kept out of feedback, grade export files."""

from __future__ import annotations

import io

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output
from openpyxl import load_workbook

from sunaba.grading.export import HEADER, GradeRow, to_csv, to_xlsx
from sunaba.grading.nbfilters import FAILED, PASSED, HideHiddenTests

HIDDEN = "### BEGIN HIDDEN TESTS\nassert answer() == 42, 'secret'\n### END HIDDEN TESTS"


def test_feedback_loses_hidden_tests_and_what_they_printed():
    failing = new_code_cell(
        "assert answer() is not None\n" + HIDDEN,
        outputs=[new_output("error", ename="AssertionError", evalue="secret", traceback=["assert answer() == 42, 'secret'"])],
    )  # fmt: skip
    passing = new_code_cell(HIDDEN, outputs=[new_output("stream", name="stdout", text="secret\n")])
    visible = new_code_cell(
        "print('ok')", outputs=[new_output("stream", name="stdout", text="ok\n")]
    )
    notebook = new_notebook(cells=[failing, passing, visible])
    for number, cell in enumerate(notebook.cells):
        cell.id = f"cell-{number}"  # random ids could contain "42" by chance
    result, _ = HideHiddenTests().preprocess(notebook, {})
    text = nbformat.writes(result)
    assert "secret" not in text and "42" not in text and "HIDDEN" not in text
    assert result.cells[0].source == "assert answer() is not None"
    assert result.cells[0].outputs[0].text == FAILED
    assert result.cells[1].outputs[0].text == PASSED
    assert result.cells[2].outputs[0].text == "ok\n"


ROWS = [
    GradeRow("ann", "山田 花子", "企画課", 7.5, 9.0, "2025年6月1日（日） 10:00", False, True, True),
    GradeRow("bob", "髙橋 一郎", "", None, None, "", True, False, False),
]


def test_csv_opens_in_excel_and_xlsx_reads_back():
    data = to_csv(ROWS)
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel detects the encoding
    lines = data.decode("utf-8-sig").split("\r\n")
    assert lines[0] == ",".join(HEADER)
    assert lines[1].startswith("ann,山田 花子,企画課,7.5,9.0,")
    assert lines[2].endswith(",はい,,登録解除")
    sheet = load_workbook(io.BytesIO(to_xlsx(ROWS, "自治体の CSV を正しく読む"))).active
    assert sheet.title == "自治体の CSV を正しく読む"
    assert [c.value for c in sheet[1]] == list(HEADER)
    assert sheet["B3"].value == "髙橋 一郎" and sheet["D2"].value == 7.5
