"""checks: an id per event, given when it happens, so a repeated write stores it once

Revision ID: checks_0002
Revises: checks_0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "checks_0002"
down_revision = "checks_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("check_events", sa.Column("event_id", sa.String(32), nullable=True))
    op.create_index("ux_check_events_event_id", "check_events", ["event_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_check_events_event_id", table_name="check_events")
    with op.batch_alter_table("check_events") as batch:
        batch.drop_column("event_id")
