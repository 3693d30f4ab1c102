"""job client: which client (a short label of its API key, or its IP) submitted each job

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: jobs created before this revision (and by the CLI) have no client.
    with op.batch_alter_table("ingestion_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client", sa.String(length=64), nullable=True))
        # Counting a client's active jobs filters on client and status.
        batch_op.create_index("ix_ingestion_jobs_client_status", ["client", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ingestion_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_ingestion_jobs_client_status")
        batch_op.drop_column("client")
