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
from traitlets import Unicode

MISSING = "採点用の環境から、このノートブックの実行結果が返りませんでした（不合格）"
MISMATCH = "採点用の環境の実行結果がこのセルと一致しませんでした（不合格）"

RESTORED = (
    "このセルは提出されたノートブックで書き換えられていたため、講師の元のセルに戻して採点しました"
)

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


def _cells_of(text: str | bytes | None) -> list | None:
    """The cells of an executed notebook, or None when it is missing or not a valid notebook
    (then every code cell of it fails)."""
    if text is None:
        return None
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        notebook = nbformat.reads(text, as_version=4)
        nbformat.validate(notebook)
    except Exception:
        return None
    return notebook.cells


class ReplayExecution(NbGraderPreprocessor):
    """Stands where nbgrader's Execute stands in `sunaba grade autograde`'s last step."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        key = f"{info['student']}/{info['notebook']}.ipynb"
        apply_outputs(nb, _cells_of(_results.get(key)))
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

        from ..exchange.archive import collect_files, pack
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
            executed = _cells_of(json.dumps(ran) if ran is not None else None)
            reason = "; ".join(reply["problems"])
        except (ExchangeUnavailable, ValueError, KeyError, TypeError) as exc:
            self.log.error("sandboxed execution failed: %s", exc)
            executed, reason = None, str(exc)
        apply_outputs(nb, executed, reason)
        return nb, resources
