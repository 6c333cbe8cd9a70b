"""insight: check records indexed by course and assignment, for the course dashboard

Revision ID: insight_0002
Revises: insight_0001, checks_0001
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "insight_0002"
down_revision = ("insight_0001", "checks_0001")  # needs check_events
branch_labels = None
depends_on = None

COLUMNS = ["course", "assignment", "login", "question"]


def upgrade() -> None:
    op.create_index("ix_check_events_course_assignment", "check_events", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_check_events_course_assignment", table_name="check_events")
