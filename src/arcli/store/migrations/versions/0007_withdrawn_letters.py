"""dunning letters: withdrawn (kept, with when and why) instead of deleted or left standing

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 01:30:00

Why: a forced rerun of a dunning date left the letter of a customer who had paid in the
meantime standing -- in the history, in the manifest, and it was mailed. Such a letter
is now withdrawn: its record stays (what was decided is never deleted) with the time and
the reason, and it no longer counts for escalation or sending.
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('dunning_letters',
                  sa.Column('withdrawn_at', sa.DateTime(timezone=True)))
    op.add_column('dunning_letters', sa.Column('withdrawn_reason', sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table('dunning_letters') as batch:
        batch.drop_column('withdrawn_reason')
        batch.drop_column('withdrawn_at')
