"""What the course texts say, read from the content itself: notebooks under
exercises/<course>/<assignment>/, their `check("qN", …)` calls, setup cells and 「ヒント」 lines,
the UI labels a text tells the learner to use, and the labels that exist in the Japanese UI.

Shared by tests/unit/courses/test_course_texts.py and tests/integration/courses/
test_course_snippets.py, so that a new assignment is tested by existing."""

from __future__ import annotations

import ast
import html.parser
import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COURSES = REPO / "courses"
EXERCISES = REPO / "exercises"
GRADERS = REPO / "graders"
MIRROR = REPO.parent / "shared" / "opendata"

# 「ラベル」ボタン / 「ラベル」タブ / 「ラベル」メニュー: what a text tells the learner to click.
LABEL_MENTION = re.compile(r"「([^「」\n]+)」(ボタン|タブ|メニュー)")
# …and the other order, as in 「▶ ボタン「選択したセルを実行」」.
LABEL_AFTER = re.compile(r"(ボタン|タブ|メニュー)\s*「([^「」\n]+)」")
INLINE_CODE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
HINT_LINE = re.compile(r"^\s*(?:[-*>]\s*)*(?:\*\*)?ヒント")


@dataclass(frozen=True)
class Notebook:
    course: str
    assignment: str
    path: Path

    @property
    def id(self) -> str:
        return f"{self.course}/{self.assignment}/{self.path.name}"

    def read(self) -> nbformat.NotebookNode:
        return nbformat.read(str(self.path), as_version=4)


def notebooks() -> list[Notebook]:
    """Every source notebook of every assignment folder, whatever course it belongs to."""
    found = []
    if not EXERCISES.is_dir():
        return found
    for course in sorted(p for p in EXERCISES.iterdir() if p.is_dir()):
        for assignment in sorted(p for p in course.iterdir() if p.is_dir()):
            for path in sorted(assignment.glob("*.ipynb")):
                found.append(Notebook(course.name, assignment.name, path))
    return found


def nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def python_source(cell) -> str:
    """A code cell's source without IPython magics and shell escapes (`%…`, `!…`)."""
    return "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in cell.source.splitlines()
    )


def check_calls(notebook: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """(question id, source of the answer expression) of every `check("qN", answer)` call."""
    calls = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        source = python_source(cell)
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "check"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                answer = ast.get_source_segment(source, node.args[1]) if len(node.args) > 1 else ""
                calls.append((node.args[0].value, answer or ""))
    return calls


def checked_questions(notebook: nbformat.NotebookNode) -> list[str]:
    seen: list[str] = []
    for qid, _ in check_calls(notebook):
        if qid not in seen:
            seen.append(qid)
    return seen


def manual_answers(notebook: nbformat.NotebookNode) -> list[str]:
    """grade_ids of the answers graded by hand (nbgrader: grade and solution, not autograded
    code)."""
    return [
        nbgrader(cell).get("grade_id", "")
        for cell in notebook.cells
        if nbgrader(cell).get("grade") and nbgrader(cell).get("solution")
    ]


def setup_cells(notebook: nbformat.NotebookNode) -> list[str]:
    """Sources of the code cells whose nbgrader grade_id starts with "setup", in order."""
    return [
        python_source(cell)
        for cell in notebook.cells
        if cell.cell_type == "code" and str(nbgrader(cell).get("grade_id", "")).startswith("setup")
    ]


def hint_code_spans(notebook: nbformat.NotebookNode) -> list[str]:
    """Inline code in the markdown lines that start with 「ヒント」: the notebook's own advice."""
    spans = []
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if HINT_LINE.match(line):
                spans += INLINE_CODE.findall(line)
    return spans


def squeeze(code: str) -> str:
    return re.sub(r"\s+", "", code)


# ----------------------------------------------------------------------------------------------
# UI labels


def course_texts() -> list[tuple[Path, str]]:
    """(file, text) of every text a learner reads: course READMEs and notebook markdown."""
    texts = []
    if COURSES.is_dir():
        for readme in sorted(COURSES.glob("*/README.md")):
            texts.append((readme, readme.read_text(encoding="utf-8")))
    for item in notebooks():
        markdown = [c.source for c in item.read().cells if c.cell_type == "markdown"]
        texts.append((item.path, "\n".join(markdown)))
    return texts


def mentioned_labels(text: str) -> list[tuple[str, str]]:
    """(label, kind) of every 「ラベル」ボタン/タブ/メニュー (or ボタン「ラベル」) in a text."""
    found = [(m.group(1), m.group(2)) for m in LABEL_MENTION.finditer(text)]
    return found + [(m.group(2), m.group(1)) for m in LABEL_AFTER.finditer(text)]


def normalise_label(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"(…|\.\.\.)$", "", text).strip()


def _site_packages() -> list[Path]:
    return [Path(p) for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]


def language_pack_dir() -> Path:
    """The LC_MESSAGES folder of the installed ja-JP JupyterLab language pack."""
    import jupyterlab_language_pack_ja_JP  # noqa: PLC0415

    return Path(jupyterlab_language_pack_ja_JP.__file__).parent / "locale" / "ja_JP" / "LC_MESSAGES"


def language_pack_labels() -> set[str]:
    labels = set()
    for catalogue in sorted(language_pack_dir().glob("*.json")):
        for msgid, value in json.loads(catalogue.read_text(encoding="utf-8")).items():
            if not msgid or not isinstance(value, list):
                continue
            labels |= {v for v in value if isinstance(v, str) and v}
    return labels


LAB_CATALOGUE = REPO / "src" / "sunaba" / "courses" / "locale" / "ja_JP" / "LC_MESSAGES"
LAB_CATALOGUE = LAB_CATALOGUE / "sunaba.json"
PLACEHOLDER = re.compile(r"%\d")


def lab_catalogue() -> dict[str, str]:
    """msgid -> Japanese of Sunaba's assignment-list extension (JupyterLab's domain "sunaba")."""
    data = json.loads(LAB_CATALOGUE.read_text(encoding="utf-8"))
    return {msgid: value[0] for msgid, value in data.items() if msgid and isinstance(value, list)}


def assignment_list_labels() -> set[str]:
    """What Sunaba's assignment-list extension shows in Japanese (around each placeholder)."""
    labels = set()
    for value in lab_catalogue().values():
        labels |= {piece for piece in PLACEHOLDER.split(value) if piece.strip()}
    return labels


def replaced_by_sunaba() -> set[str]:
    """nbgrader's English texts that Sunaba's extension replaces on screen (the catalogue's
    msgids, nbgrader's panel title "Assignments" among them)."""
    return set(lab_catalogue())


def nbgrader_menu_labels() -> set[str]:
    """The labels nbgrader's own JupyterLab extension shows untranslated (its 「Nbgrader」menu
    and its commands), minus the ones Sunaba replaces with Japanese."""
    labels = set()
    for site in _site_packages():
        folder = site.parents[2] / "share" / "jupyter" / "labextensions" / "@jupyter" / "nbgrader"
        for path in sorted(folder.glob("static/*.js")):
            text = path.read_text(encoding="utf-8", errors="replace")
            labels |= set(re.findall(r'\blabel:\s*"([^"\n]+)"', text))
            labels |= set(re.findall(r'title\.label\s*=\s*"([^"\n]+)"', text))
    return {
        label
        for label in labels - replaced_by_sunaba()
        if not any(word in label for word in HIDDEN_FROM_LEARNERS.values())
    }


# nbgrader plugins Sunaba turns off in learners' JupyterLab, and the words of their labels.
HIDDEN_FROM_LEARNERS = {
    "@jupyter/nbgrader:formgrader": "Formgrader",
    "@jupyter/nbgrader:course-list": "Course",
    "@jupyter/nbgrader:create-assignment": "Create",
}


class _TextCollector(html.parser.HTMLParser):
    ATTRIBUTES = ("title", "aria-label", "value", "placeholder", "alt")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.texts += [v for k, v in attrs if k in self.ATTRIBUTES and v]

    def handle_data(self, data):
        self.texts.append(data)


JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)


def template_labels() -> set[str]:
    """Texts of Sunaba's page templates (hub_config/templates, src/sunaba/**/templates)."""
    paths = sorted((REPO / "hub_config" / "templates").rglob("*.html"))
    paths += sorted((REPO / "src" / "sunaba").glob("**/templates/*.html"))
    labels = set()
    for path in paths:
        collector = _TextCollector()
        collector.feed(path.read_text(encoding="utf-8"))
        for text in collector.texts:
            for piece in JINJA.split(text):
                if piece.strip():
                    labels.add(piece)
    return labels


def japanese_ui_labels() -> set[str]:
    """Every label a learner can find on screen, normalised."""
    everything = (
        assignment_list_labels()
        | language_pack_labels()
        | template_labels()
        | nbgrader_menu_labels()
    )
    return {normalise_label(label) for label in everything if label.strip()}


def unknown_labels(text: str, known: set[str]) -> list[str]:
    return [
        f"「{label}」{kind}"
        for label, kind in mentioned_labels(text)
        if normalise_label(label) not in known
    ]


# ----------------------------------------------------------------------------------------------
# Graders and the real datasets they read


def course_datasets() -> dict[str, set[str]]:
    """course id -> the datasets its course.yaml lists under `datasets:`."""
    listed = {}
    for path in sorted(COURSES.glob("*/course.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError:
            data = {}
        listed[path.parent.name] = set(data.get("datasets") or [])
    return listed


def catalogue_names() -> list[str]:
    return sorted(p.parent.name for p in (REPO / "datasets").glob("*/datapackage.yaml"))


def used_datasets() -> dict[str, set[str]]:
    """course id -> the catalogue datasets its notebooks and graders name (as a quoted string)."""
    names = catalogue_names()
    used: dict[str, set[str]] = {}
    sources = [(p.parts[-3], p) for p in EXERCISES.glob("*/*/*.ipynb")]
    sources += [(p.parent.name, p) for p in GRADERS.glob("*/*.py")]
    for course, path in sources:
        text = path.read_text(encoding="utf-8")
        for name in names:
            if re.search(rf"""(?<![\w-])["']{re.escape(name)}["']""", text) or re.search(
                rf'\\"{re.escape(name)}\\"', text
            ):
                used.setdefault(course, set()).add(name)
    return used


def remote_datasets() -> list[str]:
    """The datasets the courses list or use that are fetched from a public source."""
    from sunaba.datasets.catalogue import Catalogue  # noqa: PLC0415

    catalogue = Catalogue([REPO / "datasets"])
    names = set().union(*course_datasets().values(), *used_datasets().values())
    found = []
    for name in sorted(names):
        try:
            entry = catalogue.get(name)
        except Exception:  # noqa: BLE001, S112 - an unknown name is the course files' business
            continue
        if any(r.remote for r in entry.resources):
            found.append(name)
    return found


@pytest.fixture(scope="session")
def real_datasets(tmp_path_factory) -> Iterator[Path]:
    """The courses' real datasets fetched through the mirror into a temporary folder, which
    SUNABA_DATASETS_PATH then names (as in the check service and the grading sandbox)."""
    from sunaba.datasets.catalogue import Catalogue  # noqa: PLC0415
    from sunaba.datasets.fetch import fetch  # noqa: PLC0415

    target = tmp_path_factory.mktemp("datasets")
    names = remote_datasets()
    if names:
        if not MIRROR.is_dir():
            pytest.skip(
                f"the open-data mirror {MIRROR} is absent (CI puts shared/ beside the clone)"
            )
        results = fetch(Catalogue([REPO / "datasets"]), target, names, mirror=MIRROR)
        assert all(r.ok for r in results), [r.message for r in results if not r.ok]
    before = os.environ.get("SUNABA_DATASETS_PATH")
    os.environ["SUNABA_DATASETS_PATH"] = str(target)
    try:
        yield target
    finally:
        if before is None:
            os.environ.pop("SUNABA_DATASETS_PATH", None)
        else:
            os.environ["SUNABA_DATASETS_PATH"] = before


def as_checked(answer):
    """The answer as the check service and `assert_check` see it: through the wire format."""
    from sunaba.checks.wire import Figure, decode_answer, encode_answer  # noqa: PLC0415

    if isinstance(answer, Figure):  # already a figure's description
        return answer
    return decode_answer(encode_answer(answer))


def grader_path(course: str, assignment: str) -> Path:
    return GRADERS / course / f"{assignment}.py"
