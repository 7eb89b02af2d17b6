"""covering index for aging and open items; allocations by effective date; unique index

The unique (type, number) table constraint becomes a unique index, which a first bulk
load can drop and build once at the end (SQLite cannot drop a table constraint; this
migration rebuilds the documents table there to remove it).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 05:00:00

Why: the aging summary groups open documents by customer and currency; with the index
led by ``closed_on`` SQLite looked up every open row in the table and sorted for the
GROUP BY. An index led by the group and holding every column the query reads is
scanned alone, in group order. Reports ask for the latest allocation date first (to
skip per-row corrections when nothing applies later); an index answers that at once.
"""

from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

_NEW = ['customer_id', 'currency', 'closed_on', 'due_date', 'date', 'sign', 'open_minor']
_OLD = ['closed_on', 'customer_id', 'currency', 'due_date']


def upgrade() -> None:
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index('ix_documents_open')
        batch_op.create_index('ix_documents_open', _NEW, unique=False)
        batch_op.drop_constraint('uq_documents_type_number', type_='unique')
        batch_op.create_index('ux_documents_type_number', ['type', 'number'], unique=True)
    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.create_index('ix_allocations_effective', ['effective_date'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.drop_index('ix_allocations_effective')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index('ux_documents_type_number')
        batch_op.create_unique_constraint('uq_documents_type_number', ['type', 'number'])
        batch_op.drop_index('ix_documents_open')
        batch_op.create_index('ix_documents_open', _OLD, unique=False)
