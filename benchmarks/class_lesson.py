"""What a learner does in one lesson of the class, on Sunaba and on the stock hub, built from a
real assignment of courses/: its cells (the model answers typed in), its checks and its save.

Sunaba: the assignment is fetched and submitted through Sunaba's exchange, the data is read with
`sunaba.datasets.load`, answers are checked with `check()` and one `hint()` is asked for. Stock:
the notebook and its CSV are fetched and submitted through nbgrader's stock exchange (a shared
directory, see class_pair.py), the data is read with `pandas.read_csv`, answers are checked by
the notebook's visible test cells (plain asserts in the kernel); there is no hint.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
from tests.support.real_course import grade_id, model_answers, source_notebook

HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)
# The published file pads its numbers with spaces and thousands separators, and writes "-" for
# none: read by hand, as a stock notebook has to.
STOCK_SETUP = """
import pandas as pd
pop = pd.read_csv({path!r}, dtype=str)
for column in ["totalPopulation", "male", "woman", "numberOfHouseholds"]:
    pop[column] = pd.to_numeric(pop[column].str.strip().str.replace(",", ""), errors="coerce")
print(len(pop))
"""
# Both hubs run the same analysis after the assignment's questions: a groupby and a chart.
GROUPBY = """
bands = pd.cut(pop["totalPopulation"], [0, 1000, 5000, 10000, 10**7])
summary = pop.groupby(bands, observed=True)[["totalPopulation", "numberOfHouseholds"]].sum()
print(summary.shape)
"""
CHART = """
import io
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
fig, ax = plt.subplots(figsize=(6, 4))
pop.nlargest(10, "totalPopulation").plot.barh(x="regionName", y="totalPopulation", ax=ax)
buffer = io.BytesIO()
fig.savefig(buffer, format="png")
plt.close(fig)
print(len(buffer.getvalue()))
"""


@dataclass
class Lesson:
    """The steps' contents for one kind of hub."""

    kind: str
    course: str
    assignment: str
    notebook: str  # contents-API path, relative to the learner's home
    setup: str
    questions: list[tuple[str, str]]  # (answer code, check code)
    hint: str | None
    answers: dict[str, str]
    fetch: bool

    @property
    def analysis(self) -> list[str]:
        return [GROUPBY, CHART]

    def filled(self, model: dict) -> dict:
        """The notebook model as saved after typing the answers in."""
        content = copy.deepcopy(model["content"])
        for cell in content["cells"]:
            key = cell["metadata"].get("nbgrader", {}).get("grade_id")
            if key in self.answers:
                cell["source"] = self.answers[key]
        return {"type": "notebook", "format": "json", "content": content}


def _question_cells(source: Path, *, stock: bool) -> tuple[str, list[tuple[str, str]]]:
    """The setup cell and, per answer cell, the cell that checks it: Sunaba's `check(...)`
    cell, or (stock) the visible part of the next test cell."""
    cells = [c for c in nbformat.read(str(source), as_version=4).cells if c.cell_type == "code"]
    setup = next(c.source for c in cells if grade_id(c) == "setup")
    answers = model_answers(source, leave_blank=set())
    questions = []
    for index, cell in enumerate(cells):
        if grade_id(cell) not in answers:
            continue
        later = cells[index + 1 :]
        if stock:
            test = next(c for c in later if c.metadata.get("nbgrader", {}).get("grade"))
            questions.append((answers[grade_id(cell)], HIDDEN.sub("", test.source)))
        else:
            check = next(c for c in later if "check(" in c.source and not grade_id(c))
            questions.append((answers[grade_id(cell)], check.source))
    return setup, questions


def sunaba_lesson(course: str, assignment: str) -> Lesson:
    source = source_notebook(course, assignment)
    setup, questions = _question_cells(source, stock=False)
    first = re.search(r'check\("(\w+)"', questions[0][1]).group(1)
    return Lesson(
        kind="sunaba",
        course=course,
        assignment=assignment,
        notebook=f"{course}/{assignment}/{source.name}",
        setup=setup,
        questions=questions,
        hint=f'hint("{first}")',
        answers=model_answers(source, leave_blank=set()),
        fetch=True,
    )


def stock_lesson(course: str, assignment: str, csv_name: str) -> Lesson:
    """The same assignment handed out as files: `csv_name` next to the notebook."""
    source = source_notebook(course, assignment)
    _, questions = _question_cells(source, stock=True)
    folder = f"{course}/{assignment}"
    return Lesson(
        kind="stock",
        course=course,
        assignment=assignment,
        notebook=f"{folder}/{source.name}",
        setup=STOCK_SETUP.format(path=f"{folder}/{csv_name}"),
        questions=questions,
        hint=None,
        answers=model_answers(source, leave_blank=set()),
        fetch=True,
    )
