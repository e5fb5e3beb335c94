"""index only pending deliveries, in claim order

A claim took the first pending rows of an edition by id through an index on
(edition_id, status, lease_until): it read and sorted every pending row of the
edition (100,000 at the start of a large edition) to return a batch of 200, and
leasing a row rewrote that index. The partial index holds pending rows in id
order, so a claim reads about the batch it returns.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deliveries_pending",
            ["edition_id", "id"],
            unique=False,
            postgresql_where=PENDING,
            sqlite_where=PENDING,
        )
        batch_op.drop_index("ix_deliveries_claim")


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deliveries_claim", ["edition_id", "status", "lease_until"], unique=False
        )
        batch_op.drop_index("ix_deliveries_pending")
