"""The database schema, as SQLAlchemy Core tables (one source of truth for every backend).

Design choices that everything else relies on:

* Money is ``*_minor``: a BIGINT count of the currency's minor unit, so SQL sums are exact
  on SQLite and PostgreSQL alike and indexes stay narrow.
* ``documents.amount_minor`` is always positive; ``sign`` (+1 debit, -1 credit) says which
  side it is on, so balances are ``SUM(sign * amount_minor)``.
* ``documents.open_minor`` and ``closed_on`` are maintained by cash application: the open
  amount after every allocation, and the date it reached zero (``OPEN_SENTINEL`` while
  open). Aging as of a date then only touches rows with ``closed_on > as_of``.
* Every document and customer row points at the import batch and line it came from, so any
  figure can be traced to a file.
* Changes here need an Alembic migration in ``store/migrations/versions``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

#: ``closed_on`` value of a document that is still open (sorts after every real date).
OPEN_SENTINEL = dt.date(9999, 12, 31)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _id() -> Column:
    return Column("id", Integer, primary_key=True, autoincrement=True)


def _doc_ref(name: str, nullable: bool = False) -> Column:
    return Column(name, Integer, ForeignKey("documents.id", ondelete="CASCADE"), nullable=nullable)


import_batches = Table(
    "import_batches",
    metadata,
    _id(),
    Column("kind", String(16), nullable=False),  # customers | ledger | bank | confirmations
    Column("file_name", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    Column("imported_by", String(64)),
    Column("mapping", String(64)),
    Column("options", Text),
    Column("rows_read", Integer, nullable=False, default=0),
    Column("rows_inserted", Integer, nullable=False, default=0),
    Column("rows_unchanged", Integer, nullable=False, default=0),
    Column("rows_replaced", Integer, nullable=False, default=0),
)

customers = Table(
    "customers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("email", Text),
    Column("language", String(16)),
    Column("currency", String(3)),
    Column("address", Text),
    Column("credit_limit", String(32)),  # exact decimal text, in the customer's currency
    Column("terms_days", Integer),
    Column("credit_class", String(8)),
    Column("salesperson", Text),
    Column("contact", Text),
    Column("content_hash", String(64), nullable=False),
    Column("batch_id", Integer, ForeignKey("import_batches.id")),
    Column("line_no", Integer),
    Column("updated_at", DateTime(timezone=True)),
)

documents = Table(
    "documents",
    metadata,
    _id(),
    Column("type", String(16), nullable=False),  # debits invoice fee interest; credits
    # credit_note payment write_off (a write-off needs no schema change: free text)
    Column("number", String(64), nullable=False),
    Column("customer_id", String(64), ForeignKey("customers.id"), nullable=False),
    Column("date", Date, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("sign", SmallInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("reference", Text),
    Column("description", Text),
    Column("content_hash", String(64), nullable=False),
    Column("batch_id", Integer, ForeignKey("import_batches.id")),
    Column("line_no", Integer),
    Column("open_minor", BigInteger, nullable=False),
    Column("closed_on", Date, nullable=False, default=OPEN_SENTINEL),
    # A unique index rather than a table constraint: SQLite cannot drop a constraint, and
    # the first load into an empty book builds this index once after inserting (1M rows:
    # 1.0 s to build against 2.5 s extra to maintain it row by row). Number first, so it
    # also finds a number of any type (`dispute`): one index instead of two (1M rows:
    # 0.8 s to build against 1.7 s for the former (type, number) and (number) pair).
    Index("ux_documents_number_type", "number", "type", unique=True),
    # Covers the aging summary and open items of one customer: both read only this index
    # (a 1M-document aging went from 1.3 s to 0.3 s in SQLite against the former
    # closed_on-first index, which needed a table lookup per open document). Its
    # customer+currency prefix also finds a group's documents for statements and cash
    # application, which had an index of their own until migration 0004.
    Index("ix_documents_open", "customer_id", "currency", "closed_on", "due_date", "date",
          "sign", "open_minor"),
)

allocations = Table(
    "allocations",
    metadata,
    _id(),
    Column("customer_id", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    _doc_ref("credit_id"),
    _doc_ref("debit_id"),
    Column("amount_minor", BigInteger, nullable=False),
    Column("effective_date", Date, nullable=False),
    Column("rule", String(16), nullable=False),  # manual reference exact oldest
    Column("note", Text),
    Index("ix_allocations_debit", "debit_id", "effective_date", "amount_minor"),
    Index("ix_allocations_credit", "credit_id", "effective_date", "amount_minor"),
    Index("ix_allocations_group", "customer_id", "currency"),
    # "Does anything apply after this date?" decides whether open amounts need the per-row
    # correction (see arcli.ledger.open_scope); without it MAX() scans every allocation.
    Index("ix_allocations_effective", "effective_date"),
)

manual_allocations = Table(
    "manual_allocations",
    metadata,
    _id(),
    _doc_ref("credit_id"),
    _doc_ref("debit_id"),
    Column("amount_minor", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(64)),
    Column("note", Text),
    UniqueConstraint("credit_id", "debit_id"),
)

document_history = Table(
    "document_history",
    metadata,
    _id(),
    _doc_ref("document_id"),
    Column("batch_id", Integer, ForeignKey("import_batches.id")),
    Column("replaced_at", DateTime(timezone=True), nullable=False),
    Column("old_content", Text, nullable=False),  # JSON of the replaced row
)

disputes = Table(
    "disputes",
    metadata,
    _id(),
    _doc_ref("document_id"),
    Column("reason", Text, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("opened_by", String(64)),
    Column("closed_at", DateTime(timezone=True)),
    Column("closed_by", String(64)),
    Column("close_note", Text),
    Column("follow_up", Date),  # when to chase it next (migration 0006)
    Index("ix_disputes_document", "document_id"),
)

blocks = Table(
    "blocks",
    metadata,
    _id(),
    Column("customer_id", String(64), ForeignKey("customers.id")),
    _doc_ref("document_id", nullable=True),
    Column("until", Date, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(64)),
    Column("removed_at", DateTime(timezone=True)),
)

promises = Table(
    "promises",
    metadata,
    _id(),
    Column("customer_id", String(64), ForeignKey("customers.id"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("promised_on", Date, nullable=False),
    Column("due_by", Date, nullable=False),
    Column("note", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(64)),
    Column("cancelled_at", DateTime(timezone=True)),
)

dunning_runs = Table(
    "dunning_runs",
    metadata,
    _id(),
    Column("as_of", Date, nullable=False),
    Column("run_at", DateTime(timezone=True), nullable=False),
    Column("run_by", String(64)),
    Column("options", Text),
    Column("letters", Integer, nullable=False, default=0),
)

dunning_letters = Table(
    "dunning_letters",
    metadata,
    _id(),
    Column("run_id", Integer, ForeignKey("dunning_runs.id"), nullable=False),
    Column("customer_id", String(64), ForeignKey("customers.id"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("level", Integer, nullable=False),
    Column("as_of", Date, nullable=False),
    Column("file", Text),
    Column("sha256", String(64)),
    Column("overdue_minor", BigInteger, nullable=False),
    Column("fees_minor", BigInteger, nullable=False, default=0),
    Column("interest_minor", BigInteger, nullable=False, default=0),
    Column("total_minor", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # set when a forced rerun of its date found it no longer due (paid, disputed, ...):
    # the record stays, out of escalation and of sending (migration 0007)
    Column("withdrawn_at", DateTime(timezone=True)),
    Column("withdrawn_reason", Text),
    UniqueConstraint("customer_id", "currency", "as_of"),
)

dunning_letter_items = Table(
    "dunning_letter_items",
    metadata,
    _id(),
    Column("letter_id", Integer, ForeignKey("dunning_letters.id", ondelete="CASCADE"),
           nullable=False),
    _doc_ref("document_id"),
    Column("level", Integer, nullable=False),
    Column("days_overdue", Integer, nullable=False),
    Column("open_minor", BigInteger, nullable=False),
    Column("interest_minor", BigInteger, nullable=False, default=0),
    # a letter's items: the last letters' items each run, and a forced rerun's deletes
    # (without it each deleted letter scanned every item of the book: migration 0005)
    Index("ix_dunning_letter_items_letter", "letter_id"),
)

confirmations = Table(
    "confirmations",
    metadata,
    _id(),
    Column("customer_id", String(64), ForeignKey("customers.id"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("balance_minor", BigInteger, nullable=False),
    Column("our_balance_minor", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("note", Text),
    Column("batch_id", Integer, ForeignKey("import_batches.id")),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("customer_id", "currency", "as_of"),
)

confirmation_items = Table(
    "confirmation_items",
    metadata,
    _id(),
    Column("confirmation_id", Integer, ForeignKey("confirmations.id", ondelete="CASCADE"),
           nullable=False),
    Column("number", String(64), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
)

bank_transactions = Table(
    "bank_transactions",
    metadata,
    _id(),
    Column("bank_ref", String(128), nullable=False, unique=True),
    Column("account", String(64)),
    Column("booking_date", Date, nullable=False),
    Column("value_date", Date),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("payer_name", Text),
    Column("payer_account", String(64)),
    Column("remittance", Text),
    Column("batch_id", Integer, ForeignKey("import_batches.id")),
    Column("customer_id", String(64), ForeignKey("customers.id")),
    _doc_ref("payment_id", nullable=True),
    Column("status", String(16), nullable=False),
    Column("confidence", Integer),
    Column("reason", Text),
    # The matcher's suggested write-off (short by bank charges within the tolerance),
    # posted by `reconcile write-off --suggested` as document WO-<bank_ref> (0006).
    Column("write_off_minor", BigInteger),
)

payer_keys = Table(
    "payer_keys",
    metadata,
    _id(),
    Column("customer_id", String(64), ForeignKey("customers.id"), nullable=False),
    Column("kind", String(16), nullable=False),  # account | name
    Column("value", String(128), nullable=False),
    Column("source", String(16), nullable=False),  # record | learned
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("kind", "value", "customer_id"),
)

deliveries = Table(
    "deliveries",
    metadata,
    _id(),
    Column("document_sha256", String(64), nullable=False),
    Column("recipient", Text, nullable=False),
    Column("customer_id", String(64)),
    Column("kind", String(16)),
    Column("file", Text),
    Column("message_id", Text),
    Column("status", String(16), nullable=False),  # claimed sent failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("claimed_at", DateTime(timezone=True)),
    Column("sent_at", DateTime(timezone=True)),
    UniqueConstraint("document_sha256", "recipient"),
)
