"""series and work details: series of novels, a novel's series, authors, tag groups, site dates

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=32), nullable=False),
        sa.Column("site_series_id", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("title", sa.String(length=512), nullable=False),
        sa.Column("author", sa.String(length=255), nullable=True),
        sa.Column("author_url", sa.String(length=2048), nullable=True),
        sa.Column("authors", sa.JSON(), nullable=False),
        sa.Column("synopsis", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("word_count", sa.Integer(), nullable=True),
        sa.Column("works_count", sa.Integer(), nullable=True),
        sa.Column("site_published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("site_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("works", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("site", "site_series_id", name="uq_series_site_id"),
    )
    op.create_table(
        "novel_series",
        sa.Column("novel_id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["novel_id"], ["novels.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["series_id"], ["series.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("novel_id", "series_id"),
    )
    with op.batch_alter_table("novel_series", schema=None) as batch_op:
        batch_op.create_index("ix_novel_series_series_id", ["series_id"], unique=False)
    # Batch mode: plain ALTERs on PostgreSQL, and SQLite gets its columns without a rebuild.
    # Existing novels get empty lists, so the columns can be NOT NULL like the model says.
    with op.batch_alter_table("novels", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("authors", sa.JSON(), server_default=sa.text("'[]'"), nullable=False)
        )
        batch_op.add_column(sa.Column("byline", sa.String(length=512), nullable=True))
        batch_op.add_column(
            sa.Column("tag_groups", sa.JSON(), server_default=sa.text("'{}'"), nullable=False)
        )
        batch_op.add_column(
            sa.Column("site_published_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("site_updated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("chapters_planned", sa.Integer(), nullable=True))
    with op.batch_alter_table("ingestion_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("series_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_ingestion_jobs_series_id", "series", ["series_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("ingestion_jobs", schema=None) as batch_op:
        batch_op.drop_constraint("fk_ingestion_jobs_series_id", type_="foreignkey")
        batch_op.drop_column("series_id")
    with op.batch_alter_table("novels", schema=None) as batch_op:
        batch_op.drop_column("chapters_planned")
        batch_op.drop_column("site_updated_at")
        batch_op.drop_column("site_published_at")
        batch_op.drop_column("tag_groups")
        batch_op.drop_column("byline")
        batch_op.drop_column("authors")
    with op.batch_alter_table("novel_series", schema=None) as batch_op:
        batch_op.drop_index("ix_novel_series_series_id")
    op.drop_table("novel_series")
    op.drop_table("series")
