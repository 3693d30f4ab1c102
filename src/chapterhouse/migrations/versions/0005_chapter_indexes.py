"""chapter indexes: listing pages read from the index alone, latest release dates by index

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 09:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chapters", schema=None) as batch_op:
        # A page of a novel's chapters orders by (number, id): with the id in the index, the
        # rows an offset skips are read from the index alone (EXPLAIN: Index Only Scan), and
        # no sort is needed. It serves every query the (novel_id, number) index served.
        batch_op.create_index(
            "ix_chapters_novel_number_id", ["novel_id", "number", "id"], unique=False
        )
        batch_op.drop_index("ix_chapters_novel_number")
        # A follow check plans the next one from the latest release dates: eleven index
        # entries instead of a sort of every chapter of the novel.
        batch_op.create_index(
            "ix_chapters_novel_published", ["novel_id", "published_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("chapters", schema=None) as batch_op:
        batch_op.drop_index("ix_chapters_novel_published")
        batch_op.create_index("ix_chapters_novel_number", ["novel_id", "number"], unique=False)
        batch_op.drop_index("ix_chapters_novel_number_id")
