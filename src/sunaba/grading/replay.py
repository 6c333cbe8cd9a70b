"""Put the outputs a grading sandbox produced into nbgrader's autograde, in place of running
the notebook again.

The grader's nbgrader restores every test cell from the instructor's source, exactly as for a
stock autograde; only the outputs (and execution counts) come from the sandbox, and only into a
cell whose source is the one that was sent to run. Whatever does not match, or is missing, is
an error in that cell, so it can never be scored as passed.

Only nbgrader, nbformat and the standard library are imported: grader accounts run this.
"""

from __future__ import annotations

import json

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor

MISSING = "採点用の環境から、このノートブックの実行結果が返りませんでした（不合格）"
MISMATCH = "採点用の環境の実行結果がこのセルと一致しませんでした（不合格）"

# "<student>/<notebook file>" -> the executed notebook, as read from the sandboxes.
_results: dict[str, dict] = {}


def load_results(files: dict[str, bytes]) -> None:
    _results.clear()
    for key, data in files.items():
        try:
            _results[key] = json.loads(data)
        except ValueError:
            continue  # treated as missing: every cell of that notebook fails


def _executed_cells(key: str) -> list | None:
    raw = _results.get(key)
    if raw is None:
        return None
    try:
        notebook = nbformat.reads(json.dumps(raw), as_version=4)
        nbformat.validate(notebook)
    except Exception:
        return None
    return notebook.cells


def _error(text: str):
    return nbformat.v4.new_output("error", ename="SandboxResult", evalue=text, traceback=[text])


class ReplayExecution(NbGraderPreprocessor):
    """Stands where nbgrader's Execute stands in Autograde."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        executed = _executed_cells(f"{info['student']}/{info['notebook']}.ipynb")
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            cell.execution_count = None
            if executed is None:
                cell.outputs = [_error(MISSING)]
                continue
            ran = executed[index] if index < len(executed) else None
            if ran is None or ran.cell_type != "code" or ran.source != cell.source:
                cell.outputs = [_error(MISMATCH)]
                continue
            cell.outputs = ran.outputs
            cell.execution_count = ran.get("execution_count")
        return nb, resources
