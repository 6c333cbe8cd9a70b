"""showcase: published apps and their versions

Revision ID: showcase_0001
Revises: 0001
Create Date: 2025-01-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "showcase_0001"
down_revision = "0001"
branch_labels = ("showcase",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "showcase_apps",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("course", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("notebook", sa.String(255), nullable=False),
        sa.Column("live_version", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "visibility IN ('team', 'hub', 'public')",
            name=op.f("ck_showcase_apps_visibility"),
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'live', 'unpublished')", name=op.f("ck_showcase_apps_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_showcase_apps")),
    )
    op.create_index(op.f("ix_showcase_apps_team"), "showcase_apps", ["team"])
    op.create_table(
        "showcase_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("source_path", sa.String(1024), nullable=False),
        sa.Column("published_by", sa.String(64), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("files_json", sa.Text(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("has_thumbnail", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"],
            ["showcase_apps.id"],
            name=op.f("fk_showcase_versions_app_id_showcase_apps"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_showcase_versions")),
        sa.UniqueConstraint("app_id", "number", name="uq_showcase_versions_app_number"),
    )
    op.create_index(op.f("ix_showcase_versions_app_id"), "showcase_versions", ["app_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_showcase_versions_app_id"), table_name="showcase_versions")
    op.drop_table("showcase_versions")
    op.drop_index(op.f("ix_showcase_apps_team"), table_name="showcase_apps")
    op.drop_table("showcase_apps")
