"""Published apps and their versions, in the records database (migration branch "showcase").

The files of each version live in the private store (`ShowcasePaths.version_dir`); these rows say
which versions exist, which one is live, who may see the app and who published what.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sunaba.records.models import Base, TimestampMixin, utcnow

VISIBILITIES = ("team", "hub", "public")
VISIBILITY_LABELS = {
    "team": "チーム内",
    "hub": "ハブの全員",
    "public": "一般公開（リンクを知っている人）",
}
STATUSES = ("draft", "live", "unpublished")


class ShowcaseApp(TimestampMixin, Base):
    """One app: a team's notebook, served by Voilà at `/services/showcase/apps/<id>/`.

    `status`: `draft` while its first version is being checked, `live` when served,
    `unpublished` when its owners took it down (versions are kept and can be restored).
    """

    __tablename__ = "showcase_apps"
    __table_args__ = (
        CheckConstraint("visibility IN ('team', 'hub', 'public')", name="visibility"),
        CheckConstraint("status IN ('draft', 'live', 'unpublished')", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team: Mapped[str] = mapped_column(String(64), index=True)
    course: Mapped[str] = mapped_column(String(64), default="")
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    visibility: Mapped[str] = mapped_column(String(16), default="team")
    status: Mapped[str] = mapped_column(String(16), default="draft")
    notebook: Mapped[str] = mapped_column(String(255))
    live_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))

    versions: Mapped[list[ShowcaseVersion]] = relationship(
        back_populates="app",
        cascade="all, delete-orphan",
        order_by="ShowcaseVersion.number",
        lazy="selectin",
    )

    def version(self, number: int | None) -> ShowcaseVersion | None:
        return next((v for v in self.versions if v.number == number), None)

    @property
    def next_version_number(self) -> int:
        return max((v.number for v in self.versions), default=0) + 1

    def __repr__(self) -> str:
        return f"ShowcaseApp(id={self.id}, team={self.team!r}, title={self.title!r})"


class ShowcaseVersion(Base):
    """One snapshot of an app: the notebook and the data files it names, as published."""

    __tablename__ = "showcase_versions"
    __table_args__ = (UniqueConstraint("app_id", "number", name="uq_showcase_versions_app_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app_id: Mapped[int] = mapped_column(
        ForeignKey("showcase_apps.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    source_path: Mapped[str] = mapped_column(String(1024))
    published_by: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    files_json: Mapped[str] = mapped_column(Text, default="[]")
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    has_thumbnail: Mapped[bool] = mapped_column(Boolean, default=False)

    app: Mapped[ShowcaseApp] = relationship(back_populates="versions")

    @property
    def files(self) -> list[str]:
        return json.loads(self.files_json)

    @files.setter
    def files(self, value: list[str]) -> None:
        self.files_json = json.dumps(sorted(value), ensure_ascii=False)
