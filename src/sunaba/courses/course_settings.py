"""What a course file becomes for the tools that run it: the course's nbgrader config (grading
in sandboxes, feedback without hidden tests) and the course info the exchange serves."""

from __future__ import annotations

from datetime import UTC, datetime

from sunaba.courses.model import Course

GRADING_CONFIG = {
    # Hidden tests never reach feedback (see sunaba.grading.nbfilters).
    "GenerateFeedback": {
        "preprocessors": [
            "nbgrader.preprocessors.GetGrades",
            "sunaba_portable.grading.nbfilters.HideHiddenTests",
            "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
        ]
    },
    "AssignLatePenalties": {"plugin_class": "nbgrader.plugins.LateSubmissionPlugin"},
    # The formgrader's autograde button: nbgrader's steps, with learners' code run in a
    # grading sandbox by the exchange service instead of by the grader account.
    "Autograde": {
        "autograde_preprocessors": [
            "sunaba_portable.grading.replay.SandboxedExecute",
            "nbgrader.preprocessors.IgnorePattern",
            "nbconvert.preprocessors.ClearMetadataPreprocessor",
            "nbgrader.preprocessors.LimitOutput",
            "nbgrader.preprocessors.SaveAutoGrades",
            "sunaba_portable.grading.replay.FlagTampering",
            "nbgrader.preprocessors.AssignLatePenalties",
            "nbgrader.preprocessors.CheckCellMetadata",
        ]
    },
    "ClearSolutions": {
        "code_stub": {"python": "# ここにコードを書いてください\nraise NotImplementedError()"},
        "text_stub": "ここに答えを書いてください。",
    },
}


def course_nbgrader_config(course: Course) -> dict:
    return {
        **GRADING_CONFIG,
        "CourseDirectory": {"course_id": course.id},
        "SandboxedExecute": {"course_id": course.id},
    }


def course_info(course: Course) -> dict:
    """What the exchange needs to know about a course (also for its API listing)."""

    def iso(moment: datetime | None) -> str | None:
        return moment.astimezone(UTC).isoformat() if moment else None

    return {
        "id": course.id,
        "title": course.title.ja,
        "datasets": list(course.datasets),
        "assignments": [
            {
                "id": a.id,
                "title": a.title.ja,
                "opens": iso(a.opens),
                "due": iso(a.due),
                "late": a.late.value,
                "points": a.points,
            }
            for a in course.assignments
        ],
    }
