"""llm_batches (OpenAI Batch API submissions) and cards.fallback_reason (labelled stand-ins)

Revision ID: i18
Revises: i17
Create Date: 2026-12-06 20:16:38.906265
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import aggregator.db.types

revision: str = "i18"
down_revision: str | None = "i17"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "llm_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("remote_id", sa.String(length=120), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("remote_status", sa.String(length=32), nullable=True),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("output_mode", sa.String(length=16), nullable=True),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", aggregator.db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", aggregator.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_llm_batches")),
        sa.UniqueConstraint("remote_id", name=op.f("uq_llm_batches_remote_id")),
    )
    with op.batch_alter_table("llm_batches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_llm_batches_status"), ["status"], unique=False)

    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fallback_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.drop_column("fallback_reason")

    with op.batch_alter_table("llm_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_llm_batches_status"))

    op.drop_table("llm_batches")
