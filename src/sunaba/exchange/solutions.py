"""Model solutions for learners, after the due date and with their feedback.

The solution of an assignment is its source notebook (from `exercises/<course>/<folder>/`) with
every hidden test region removed, the solution markers taken out, outputs cleared and nbgrader's
cell metadata dropped. Only notebooks travel, never the other files of the folder (graders live
elsewhere and never reach the exchange).

Three rules, each enforced where it cannot be bypassed:
- the store refuses to keep solutions before the due date (`ExchangeStore.put_solutions`);
- the exchange hands them only to a learner whose due date has passed and whose feedback for
  the assignment has been released (`SolutionHandler`, server side);
- once they are out, the exchange refuses further submissions of that assignment from learners.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sunaba.core.jadate import format_ja
from sunaba.exchange.store import ExchangeStore, StoreError

HIDDEN_BEGIN = "BEGIN HIDDEN TESTS"
HIDDEN_END = "END HIDDEN TESTS"
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")

BEFORE_DUE = "解答例は締切（{due}）を過ぎてから、講評と一緒に届きます"
NO_DUE = "この課題には締切がないため、解答例は配布されません"
NO_FEEDBACK = "解答例は、この課題の講評が返却されてから届きます"
NOT_RELEASED = "この課題の解答例はまだ公開されていません"
CLOSED = "解答例が公開されたため、この課題はもう提出できません"


def _source_lines(cell: dict) -> list[str]:
    source = cell.get("source", "")
    return ("".join(source) if isinstance(source, list) else source).split("\n")


def strip_cell(cell: dict) -> dict:
    """A source cell as the solution shows it: no hidden tests, no markers, no outputs."""
    kept, inside = [], False
    for line in _source_lines(cell):
        if HIDDEN_BEGIN in line:
            inside = True
        elif HIDDEN_END in line:
            inside = False
        elif not inside and line.strip() not in SOLUTION_MARKERS:
            kept.append(line)
    cell = dict(cell, source="\n".join(kept).rstrip("\n"))
    metadata = {k: v for k, v in cell.get("metadata", {}).items() if k != "nbgrader"}
    cell["metadata"] = metadata
    if cell.get("cell_type") == "code":
        cell["outputs"] = []
        cell["execution_count"] = None
    return cell


def solution_notebook(data: bytes) -> bytes:
    notebook = json.loads(data.decode("utf-8"))
    notebook["cells"] = [strip_cell(cell) for cell in notebook.get("cells", [])]
    return (json.dumps(notebook, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def solution_files(folder: Path) -> dict[str, bytes]:
    """The solution notebooks of an assignment's source folder (top level, not hidden)."""
    return {
        path.name: solution_notebook(path.read_bytes())
        for path in sorted(folder.glob("*.ipynb"))
        if not path.name.startswith(".") and path.is_file() and not path.is_symlink()
    }


def due_passed(due: datetime | None, now: datetime) -> bool:
    return due is not None and now >= due


def refusal(due: datetime | None, now: datetime) -> str | None:
    """Why solutions may not go out yet (Japanese), or None once the due date has passed."""
    if due is None:
        return NO_DUE
    if now < due:
        return BEFORE_DUE.format(due=format_ja(due))
    return None


def publish(
    store: ExchangeStore,
    course: str,
    assignment: str,
    folder: Path,
    *,
    due: datetime | None,
    now: datetime | None = None,
) -> bool:
    """Put the solutions of `folder` into the exchange (refused before the due date); True if
    anything changed."""
    now = now or datetime.now(UTC)
    files = solution_files(folder)
    if not files:
        raise StoreError(f"{folder} に解答例のノートブックがありません", status=404)
    return store.put_solutions(course, assignment, files, due=due, now=now)


def handler(base: type) -> type:
    """The learners' solution download, on the exchange's base handler."""

    class SolutionHandler(base):
        async def get(self, course: str, assignment: str):
            self.need_member(course)
            exchange = self.exchange
            try:
                item = exchange.assignment(exchange.course(course), assignment)
                if not self.caller.is_staff(course):
                    await self._check_learner(course, assignment, item)
                files = await exchange.run(exchange.store.solution_files, course, assignment)
            except StoreError as exc:
                self.fail(exc)
            self.send_tar(files)

        async def _check_learner(self, course: str, assignment: str, item: dict) -> None:
            due = datetime.fromisoformat(item["due"]) if item.get("due") else None
            reason = refusal(due, datetime.now(UTC))
            if reason:
                raise StoreError(reason, status=403)
            stamps = await self.exchange.run(
                self.exchange.store.feedback_stamps, course, self.caller.name, assignment
            )
            if not stamps:
                raise StoreError(NO_FEEDBACK, status=403)

    return SolutionHandler


def closed_for_learners(store: ExchangeStore, course: str, assignment: str) -> bool:
    """Solutions are out: a learner's submission now could copy them."""
    return store.has_solutions(course, assignment)


def route(api: str, course: str, name: str, base: type) -> tuple[str, type]:
    return (f"{api}/courses/{course}/assignments/{name}/solution", handler(base))
