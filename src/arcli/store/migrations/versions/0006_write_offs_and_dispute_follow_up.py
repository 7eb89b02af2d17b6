"""write-offs: the bank match's suggested write-off; a dispute's follow-up date

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 00:10:00

Why: `reconcile bank --apply` found receipts short of the invoices by bank charges within
the tolerance and said "suggest write-off", but kept nothing of it: the invoice stayed
open by the difference for ever, and aging never tied to a settled ledger. The
suggestion is now kept with the posted receipt (`write_off_minor`), so that
`reconcile write-off --suggested` can post it later as a `write_off` document -- a new
credit document type beside payment and credit_note (documents.type is free text, so
the type itself needs no column change; the posted write-off is found by its number
WO-<bank ref>, unique with its type). A dispute gets a follow-up date, shown when a
dunning run skips a customer whose only overdue items are disputed.
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('bank_transactions', sa.Column('write_off_minor', sa.BigInteger()))
    op.add_column('disputes', sa.Column('follow_up', sa.Date()))


def downgrade() -> None:
    with op.batch_alter_table('disputes') as batch:
        batch.drop_column('follow_up')
    with op.batch_alter_table('bank_transactions') as batch:
        batch.drop_column('write_off_minor')
