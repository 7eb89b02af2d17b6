"""drop ix_documents_group: ix_documents_open serves every query it served

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 21:00:00

Why: every query that used (customer_id, currency, date) used only its customer or
customer+currency prefix, which ix_documents_open (customer_id, currency, closed_on, ...)
has too. Timed on a 1M-document book with and without it (statement lines, open items,
balances as of a date, a group's documents for cash application, whole-book scans): the
same within 0-11%. A first load of a million documents builds it in 0.35-0.4 s, every
later insert maintains it, and it takes 31 MB of that book's 332 MB.
"""

from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_documents_group', table_name='documents')


def downgrade() -> None:
    op.create_index('ix_documents_group', 'documents', ['customer_id', 'currency', 'date'],
                    unique=False)
