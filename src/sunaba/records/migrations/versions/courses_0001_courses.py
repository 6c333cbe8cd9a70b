"""courses: courses, their assignments, enrolments and each learner's progress

Revision ID: courses_0001
Revises: 0001
Create Date: 2025-01-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "courses_0001"
down_revision = "0001"
branch_labels = ("courses",)
depends_on = None


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def _course_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["course_id"],
        ["courses.course_id"],
        name=op.f(f"fk_{table}_course_id_courses"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "courses",
        sa.Column("course_id", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("title_en", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("course_id", name=op.f("pk_courses")),
    )
    op.create_table(
        "course_assignments",
        sa.Column("course_id", sa.String(32), nullable=False),
        sa.Column("assignment_id", sa.String(40), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("opens", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("points", sa.Float(), nullable=True),
        sa.Column("late_policy", sa.String(16), nullable=False),
        sa.Column("released", sa.Boolean(), nullable=False),
        *_timestamps(),
        _course_fk("course_assignments"),
        sa.PrimaryKeyConstraint("course_id", "assignment_id", name=op.f("pk_course_assignments")),
    )
    op.create_table(
        "course_enrolments",
        sa.Column("course_id", sa.String(32), nullable=False),
        sa.Column("login", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        *_timestamps(),
        _course_fk("course_enrolments"),
        sa.PrimaryKeyConstraint("course_id", "login", "role", name=op.f("pk_course_enrolments")),
    )
    op.create_table(
        "course_progress",
        sa.Column("course_id", sa.String(32), nullable=False),
        sa.Column("assignment_id", sa.String(40), nullable=False),
        sa.Column("login", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("max_score", sa.Float(), nullable=True),
        sa.Column("graded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("feedback_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        _course_fk("course_progress"),
        sa.PrimaryKeyConstraint(
            "course_id", "assignment_id", "login", name=op.f("pk_course_progress")
        ),
    )


def downgrade() -> None:
    op.drop_table("course_progress")
    op.drop_table("course_enrolments")
    op.drop_table("course_assignments")
    op.drop_table("courses")
