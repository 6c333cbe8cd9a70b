"""Who may see, publish to and manage an app: plain functions of the app and the viewer."""

from __future__ import annotations

from sunaba.showcase.records import ShowcaseApp
from sunaba.showcase.teams import Viewer


def can_view(app: ShowcaseApp, viewer: Viewer | None) -> bool:
    """Open the app itself. Unpublished and draft apps are nobody's to open."""
    if app.status != "live":
        return False
    if app.visibility == "public":
        return True
    if viewer is None:
        return False
    if app.visibility == "hub":
        return True
    return viewer.admin or viewer.in_team(app.team)


def can_manage(app: ShowcaseApp, viewer: Viewer | None) -> bool:
    """Publish a new version, restore one, change visibility, unpublish: the team and admins."""
    return viewer is not None and (viewer.admin or viewer.in_team(app.team))


def can_see_card(app: ShowcaseApp, viewer: Viewer | None) -> bool:
    """Appear in the gallery: viewable apps, and unpublished ones for their owners."""
    if app.status == "unpublished":
        return can_manage(app, viewer)
    return can_view(app, viewer)


def can_publish_to(team: str, viewer: Viewer | None) -> bool:
    return viewer is not None and viewer.in_team(team)
