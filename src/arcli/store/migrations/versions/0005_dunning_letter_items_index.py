"""index dunning letter items by letter

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 02:00:00

Why: a letter's items were only ever found by scanning every item of the book. A forced
rerun (`dunning run --force`) deletes each customer's letter of that date with its items,
so a run over 10,000 customers, whose letters list ~45 items each, scanned the growing
table 10,000 times: 98 of a profiled 193 s. Each run also read every item of every
letter ever recorded to find the last letters' items; it now reads only those, by this
index.
"""

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_dunning_letter_items_letter', 'dunning_letter_items', ['letter_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_dunning_letter_items_letter', table_name='dunning_letter_items')
