"""insight: per-question scores copied from the gradebooks

Revision ID: insight_0001
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "insight_0001"
down_revision = "0001"
branch_labels = ("insight",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "course_question_scores",
        sa.Column("course_id", sa.String(32), nullable=False),
        sa.Column("assignment_id", sa.String(40), nullable=False),
        sa.Column("login", sa.String(64), nullable=False),
        sa.Column("notebook", sa.String(200), nullable=False),
        sa.Column("cell", sa.String(200), nullable=False),
        sa.Column("question", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("manual", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("max_score", sa.Float(), nullable=False),
        sa.Column("needs_manual_grade", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "course_id",
            "assignment_id",
            "login",
            "notebook",
            "cell",
            name=op.f("pk_course_question_scores"),
        ),
    )


def downgrade() -> None:
    op.drop_table("course_question_scores")
