"""Put the outputs a grading sandbox produced into nbgrader's autograde, in place of running
the notebook again.

The grader's nbgrader restores every test cell from the instructor's source, exactly as for a
stock autograde; only the outputs (and execution counts) come from the sandbox, and only into a
cell whose source is the one that was sent to run. Whatever does not match, or is missing, is
an error in that cell, so it can never be scored as passed.

A test cell whose source (the instructor's, as restored) calls `assert_check("q…", …)` passes
only if the judge outside the sandbox recorded, while that very cell ran, verdicts for each
question it names, and all of them passes (`sunaba.grading.judging` writes them into the executed
notebook's metadata). What the kernel printed or raised can only lower that: a missing,
malformed or failed verdict is an error in the cell, with the judge's message.

Only nbgrader, nbformat and the standard library are imported: grader accounts run this.
"""

from __future__ import annotations

import ast
import json
import re

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from .probes import flag_for_manual_grading, tampered_from

MISSING = "採点用の環境から、このノートブックの実行結果が返りませんでした（不合格）"
MISMATCH = "採点用の環境の実行結果がこのセルと一致しませんでした（不合格）"

RESTORED = (
    "このセルは提出されたノートブックで書き換えられていたため、講師の元のセルに戻して採点しました"
)

NO_VERDICT = "{question}: 採点用の判定プロセスにこのセルの答えが届いていません（不合格）"
JUDGE_KEY = "sunaba_judge"  # the executed notebook's metadata: {"cells": {index: [verdicts]}}
CHECK_CALL = re.compile(r"""\bassert_check\(\s*["']([A-Za-z0-9_.-]{1,40})["']""")

# In the preprocessors' shared resources: where the executed notebook's kernel was found
# tampered with (see sunaba.grading.probes), for FlagTampering after SaveAutoGrades.
TAMPERED_FROM = "sunaba_tampered_from"

# "<student>/<notebook file>" -> the executed notebook (JSON text), as the sandboxes wrote it.
_results: dict[str, bytes] = {}
# "<student>/<notebook file>" -> {grade_id: "changed" | "removed"} of locked cells.
_changed: dict[str, dict] = {}


def load_changed_cells(changed: dict[str, dict]) -> None:
    _changed.clear()
    _changed.update(changed)


def load_results(files: dict[str, bytes]) -> None:
    _results.clear()
    _results.update(files)


def _error(text: str):
    return nbformat.v4.new_output("error", ename="SandboxResult", evalue=text, traceback=[text])


def apply_outputs(nb, executed, reason: str = "") -> None:
    """Outputs of the executed cells into `nb`, cell by cell where the source matches."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        cell.execution_count = None
        if executed is None:
            cell.outputs = [_error(f"{MISSING}: {reason}" if reason else MISSING)]
            continue
        ran = executed[index] if index < len(executed) else None
        if ran is None or ran.cell_type != "code" or ran.source != cell.source:
            cell.outputs = [_error(MISMATCH)]
            continue
        cell.outputs = ran.outputs
        cell.execution_count = ran.get("execution_count")


def named_questions(source: str) -> list[str]:
    """The questions a cell's `assert_check` calls name (first argument or `question=`)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython syntax: the plain pattern
        return list(dict.fromkeys(CHECK_CALL.findall(source)))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if name != "assert_check":
            continue
        args = [*node.args[:1], *(k.value for k in node.keywords if k.arg == "question")]
        for arg in args:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.append(arg.value)
    return list(dict.fromkeys(found))


def _verdict_problem(questions: list[str], verdicts) -> str:
    """Why the recorded verdicts do not pass every question (empty when they do)."""
    verdicts = [v for v in verdicts if isinstance(v, dict)] if isinstance(verdicts, list) else []
    for question in questions:
        mine = [v for v in verdicts if v.get("question") == question]
        if not mine:
            return NO_VERDICT.format(question=question)
        for verdict in mine:
            if verdict.get("ok") is not True:
                return f"{question}: {str(verdict.get('message') or '')[:2000]}"
    return ""


def apply_verdicts(nb, judged) -> None:
    """The judge's record decides every graded cell that calls `assert_check`. Both backends
    attach a record to every executed notebook; none attached counts as no verdict."""
    cells = judged.get("cells") if isinstance(judged, dict) else None
    cells = cells if isinstance(cells, dict) else {}
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade"):
            continue
        questions = named_questions(cell.source)
        problem = _verdict_problem(questions, cells.get(str(index))) if questions else ""
        if problem and not any(o.get("output_type") == "error" for o in cell.outputs):
            cell.outputs.append(
                nbformat.v4.new_output(
                    "error", ename="AssertionError", evalue=problem, traceback=[problem]
                )
            )


def _judged(executed):
    """The verdicts the grading sandbox's parent attached, or None (no judge ran)."""
    if executed is None:
        return {"cells": {}}
    return executed.metadata.get(JUDGE_KEY)


def _notebook_of(text: str | bytes | None):
    """An executed notebook, or None when it is missing or not a valid notebook (then every
    code cell of it fails)."""
    if text is None:
        return None
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        notebook = nbformat.reads(text, as_version=4)
        nbformat.validate(notebook)
    except Exception:
        return None
    return notebook


def replay(nb, resources, executed, reason: str = "") -> None:
    """What the grading sandbox's run says, put where nbgrader's Execute would have left it:
    the outputs, the judge's verdicts, and (for FlagTampering) where tampering began."""
    apply_outputs(nb, executed.cells if executed is not None else None, reason)
    apply_verdicts(nb, _judged(executed))
    resources[TAMPERED_FROM] = tampered_from(executed) if executed is not None else None


class ReplayExecution(NbGraderPreprocessor):
    """Stands where nbgrader's Execute stands in `sunaba grade autograde`'s last step."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        key = f"{info['student']}/{info['notebook']}.ipynb"
        executed = _notebook_of(_results.get(key))
        replay(nb, resources, executed)
        changed = _changed.get(key, {})
        for cell in nb.cells:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if cell.cell_type == "code" and changed.get(grade_id) == "changed":
                # A note only, on stdout: nbgrader fails a test cell with any stderr output,
                # and the score must be what the restored cell really did.
                note = nbformat.v4.new_output("stream", name="stdout", text=RESTORED + "\n")
                cell.outputs = [note, *cell.outputs]
        return nb, resources


class SandboxedExecute(NbGraderPreprocessor):
    """Stands where nbgrader's Execute stands in the formgrader's autograde: the notebook and
    the files beside it go to the exchange service (root), which runs them in a grading
    sandbox and sends the executed notebook back. The formgrader, running as the grader
    account, never runs learners' code."""

    course_id = Unicode("", help="The course whose sandbox runs the notebook.").tag(config=True)

    def preprocess(self, nb, resources):
        from pathlib import Path
        from urllib.parse import quote

        from ..core.archive import collect_files, pack
        from ..exchange.client import ExchangeClient, ExchangeUnavailable

        info = resources["nbgrader"]
        name = f"{info['notebook']}.ipynb"
        files = collect_files(Path(resources["metadata"]["path"]), max_bytes=2**31)
        files[name] = nbformat.writes(nb).encode("utf-8")
        path = (
            f"api/courses/{quote(self.course_id)}/assignments/"
            f"{quote(info['assignment'])}/execute?student={quote(info['student'])}"
            f"&notebook={quote(name)}"
        )
        try:
            client = ExchangeClient.from_environment()
            client.timeout = 3600
            reply = json.loads(client.request("POST", path, pack(files), "application/gzip"))
            ran = reply.get("executed")
            executed = _notebook_of(json.dumps(ran) if ran is not None else None)
            reason = "; ".join(reply["problems"])
        except (ExchangeUnavailable, ValueError, KeyError, TypeError) as exc:
            self.log.error("sandboxed execution failed: %s", exc)
            executed, reason = None, str(exc)
        replay(nb, resources, executed, reason)
        return nb, resources


class FlagTampering(NbGraderPreprocessor):
    """After SaveAutoGrades, in both autograde paths (the CLI's and the formgrader's button):
    the autograded test cells from the point where the kernel was found tampered with need
    manual grading, so the formgrader lists the submission and an instructor decides."""

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook

        start = resources.get(TAMPERED_FROM)
        if start is None:
            return nb, resources
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gradebook:
            flag_for_manual_grading(
                gradebook, nb.cells[start:], info["notebook"], info["assignment"], info["student"]
            )
        return nb, resources
