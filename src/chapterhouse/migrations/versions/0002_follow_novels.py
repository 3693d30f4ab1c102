"""follow novels: when each followed novel is checked next, and how its last check went

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 10:29:08.649170
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch mode: plain ALTERs on PostgreSQL, and SQLite gets its columns without a rebuild.
    with op.batch_alter_table("novels", schema=None) as batch_op:
        # sa.false() renders as `false` on PostgreSQL and `0` on SQLite.
        batch_op.add_column(
            sa.Column("followed", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("followed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_checked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("check_interval", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("last_check_note", sa.String(length=255), nullable=True))
        batch_op.create_index(
            "ix_novels_followed_next_check", ["followed", "next_check_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("novels", schema=None) as batch_op:
        batch_op.drop_index("ix_novels_followed_next_check")
        batch_op.drop_column("last_check_note")
        batch_op.drop_column("check_interval")
        batch_op.drop_column("last_checked_at")
        batch_op.drop_column("next_check_at")
        batch_op.drop_column("followed_at")
        batch_op.drop_column("followed")
