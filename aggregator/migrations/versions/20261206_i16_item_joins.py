"""item_joins: why each item joined its story (issue 16)

Revision ID: i16
Revises: 0001
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import aggregator.db.types

revision: str = "i16"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "item_joins",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("joined_by", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("matched_item_id", sa.Integer(), nullable=True),
        sa.Column("joined_at", aggregator.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_item_joins_item_id_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["story_id"],
            ["stories.id"],
            name=op.f("fk_item_joins_story_id_stories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_item_joins")),
    )
    with op.batch_alter_table("item_joins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_joins_story_id"), ["story_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_item_joins_joined_at"), ["joined_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("item_joins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_joins_joined_at"))
        batch_op.drop_index(batch_op.f("ix_item_joins_story_id"))
    op.drop_table("item_joins")
