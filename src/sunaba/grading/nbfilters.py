"""Feedback must never show hidden tests: neither their source nor what they printed.

nbgrader restores hidden tests into the autograded notebook (the gradebook keeps the source with
them) and its feedback shows that notebook as it is. `HideHiddenTests` runs in
`GenerateFeedback` after the grades are read: it removes every `BEGIN HIDDEN TESTS` ...
`END HIDDEN TESTS` region and replaces the outputs of such cells with one neutral line saying
whether they passed, so a traceback cannot quote a hidden assertion either.

Only nbgrader/nbconvert are imported: grader accounts run this outside the hub.
"""

from __future__ import annotations

from nbformat.v4 import new_output
from nbgrader.preprocessors.base import NbGraderPreprocessor
from traitlets import Unicode

PASSED = "非公開のテスト: 合格"
FAILED = "非公開のテスト: 不合格（どこが違うかは、見えているテストと説明を手がかりにしてください）"


class HideHiddenTests(NbGraderPreprocessor):
    # NbGraderPreprocessor: enabled by default (nbconvert's own are not, once registered).
    begin = Unicode("BEGIN HIDDEN TESTS", help="Marker opening a hidden test region.").tag(
        config=True
    )
    end = Unicode("END HIDDEN TESTS", help="Marker closing a hidden test region.").tag(config=True)

    def strip(self, source: str) -> tuple[str, bool]:
        kept, hidden, inside = [], False, False
        for line in source.split("\n"):
            if self.begin in line:
                inside = hidden = True
            elif self.end in line:
                inside = False
            elif not inside:
                kept.append(line)
        return "\n".join(kept), hidden

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        source, hidden = self.strip(cell.source)
        if not hidden:
            return cell, resources
        cell.source = source
        failed = any(output.get("output_type") == "error" for output in cell.get("outputs", []))
        cell.outputs = [new_output("stream", name="stdout", text=FAILED if failed else PASSED)]
        return cell, resources
