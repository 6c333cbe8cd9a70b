"""What an author asks for when publishing or changing an app, and the rules its fields follow.

The page, the API and the CLI all build a `PublishRequest`; checking it here keeps their limits
and their messages the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from sunaba.showcase.messages import ShowcaseError
from sunaba.showcase.records import VISIBILITIES

MAX_TITLE = 100
MAX_DESCRIPTION = 2000
VISIBILITY_CHOICES = "公開範囲は「チーム内」「ハブの全員」「一般公開」から選んでください。"


@dataclass(frozen=True)
class PublishRequest:
    notebook: str
    title: str
    description: str
    team: str
    visibility: str
    app_id: int | None = None


def check_publish_request(request: PublishRequest) -> None:
    if not request.title.strip() or len(request.title) > MAX_TITLE:
        raise ShowcaseError(f"タイトルを入力してください（{MAX_TITLE} 文字まで）。", reason="title")
    if len(request.description) > MAX_DESCRIPTION:
        raise ShowcaseError(
            f"説明は {MAX_DESCRIPTION} 文字までにしてください。", reason="description"
        )
    if request.visibility not in VISIBILITIES:
        raise ShowcaseError(VISIBILITY_CHOICES)
    if not request.notebook.strip():
        raise ShowcaseError("公開するノートブックを選んでください。", reason="notebook")


def check_changes(visibility: str | None, title: str | None, description: str | None) -> None:
    """The fields of a change to a published app (None: left as it is)."""
    if visibility is not None and visibility not in VISIBILITIES:
        raise ShowcaseError(VISIBILITY_CHOICES)
    if title is not None and (not title.strip() or len(title) > MAX_TITLE):
        raise ShowcaseError(f"タイトルを入力してください（{MAX_TITLE} 文字まで）。")
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise ShowcaseError(f"説明は {MAX_DESCRIPTION} 文字までにしてください。")
