"""checks: every instant check and hint

Revision ID: checks_0001
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "checks_0001"
down_revision = "0001"
branch_labels = ("checks",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "check_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("login", sa.String(64), nullable=False),
        sa.Column("course", sa.String(64), nullable=False),
        sa.Column("assignment", sa.String(64), nullable=False),
        sa.Column("question", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("hint_level", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_events")),
    )
    op.create_index(op.f("ix_check_events_login"), "check_events", ["login"])


def downgrade() -> None:
    op.drop_index(op.f("ix_check_events_login"), table_name="check_events")
    op.drop_table("check_events")
