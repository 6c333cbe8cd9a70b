"""The showcase's rows in the records database: apps, their versions, which one is live.

Every read and write of `ShowcaseApp` / `ShowcaseVersion` goes through `AppRecords`, so the
publishing steps read as steps and each transaction stays in one place.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sunaba.showcase.publish_request import PublishRequest
from sunaba.showcase.records import ShowcaseApp, ShowcaseVersion
from sunaba.showcase.store import Snapshot
from sunaba.showcase.teams import Team, Viewer


class AppRecords:
    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions

    # -- reading ------------------------------------------------------------------------------

    def all(self) -> list[ShowcaseApp]:
        """Every app, the most recently changed first."""
        with self.sessions() as session:
            return list(
                session.scalars(select(ShowcaseApp).order_by(ShowcaseApp.updated_at.desc()))
            )

    def get(self, app_id: int) -> ShowcaseApp | None:
        with self.sessions() as session:
            return session.get(ShowcaseApp, app_id)

    def is_live(self, app_id: int) -> bool:
        app = self.get(app_id)
        return app is not None and app.status == "live"

    def next_number(self, app_id: int) -> int:
        with self.sessions() as session:
            return session.get(ShowcaseApp, app_id).next_version_number

    # -- publishing ---------------------------------------------------------------------------

    def create_draft(
        self, team: Team, who: Viewer, request: PublishRequest, notebook: str
    ) -> ShowcaseApp:
        with self.sessions.begin() as session:
            app = ShowcaseApp(
                team=team.name,
                course=team.course,
                title=request.title.strip(),
                description=request.description.strip(),
                visibility=request.visibility,
                status="draft",
                notebook=notebook,
                created_by=who.name,
            )
            session.add(app)
        return app

    def delete_draft(self, app_id: int) -> None:
        """Only an app still a draft with no version goes: a first publish that failed."""
        with self.sessions.begin() as session:
            app = session.get(ShowcaseApp, app_id)
            if app is not None and app.status == "draft" and not app.versions:
                session.delete(app)

    def add_version(
        self, app_id: int, number: int, who: Viewer, request: PublishRequest, snapshot: Snapshot
    ) -> None:
        with self.sessions.begin() as session:
            version = ShowcaseVersion(
                app_id=app_id,
                number=number,
                source_path=request.notebook,
                published_by=who.name,
                size_bytes=snapshot.size_bytes,
                sha256=snapshot.sha256,
            )
            version.files = snapshot.files
            session.add(version)

    def go_live(
        self, app_id: int, number: int, notebook: str, request: PublishRequest | None = None
    ) -> ShowcaseApp:
        with self.sessions.begin() as session:
            app = session.get(ShowcaseApp, app_id)
            app.live_version = number
            app.status = "live"
            app.notebook = notebook
            if request is not None:
                app.title = request.title.strip()
                app.description = request.description.strip()
                app.visibility = request.visibility
        return self.get(app_id)

    def mark_thumbnail(self, app_id: int, number: int) -> None:
        with self.sessions.begin() as session:
            version = session.scalars(
                select(ShowcaseVersion).where(
                    ShowcaseVersion.app_id == app_id, ShowcaseVersion.number == number
                )
            ).first()
            if version is not None:
                version.has_thumbnail = True

    # -- changing and removing ----------------------------------------------------------------

    def set_status(self, app_id: int, status: str) -> None:
        with self.sessions.begin() as session:
            session.get(ShowcaseApp, app_id).status = status

    def change(
        self,
        app_id: int,
        visibility: str | None,
        title: str | None,
        description: str | None,
    ) -> ShowcaseApp:
        with self.sessions.begin() as session:
            app = session.get(ShowcaseApp, app_id)
            if visibility is not None:
                app.visibility = visibility
            if title is not None:
                app.title = title.strip()
            if description is not None:
                app.description = description.strip()
        return self.get(app_id)

    def delete(self, app_id: int) -> None:
        with self.sessions.begin() as session:
            session.delete(session.get(ShowcaseApp, app_id))
