"""Plain data handed to the renderers, and what they hand back.

Renderers receive these objects only (no database handles), so rendering can run in
worker processes (they pickle) and be tested without a store. All money is Decimal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path


@dataclass(frozen=True)
class SignatureBox:
    """Where the visible signature block was drawn: 0-based page index and PDF points."""

    page: int
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class RenderedPdf:
    """An unsigned, deterministic PDF and where a signature field belongs on it."""

    pdf: bytes
    pages: int
    signature_box: SignatureBox | None = None


@dataclass(frozen=True)
class Attachment:
    """A file to embed in the PDF as an associated file (the document's JSON copy)."""

    name: str
    data: bytes
    description: str
    mime_type: str = "application/json"


@dataclass(frozen=True)
class Company:
    """Our side: letterhead, bank details, who signs."""

    name: str = "Your Company Ltd"
    address: tuple[str, ...] = ()
    registration_no: str | None = None
    tax_id: str | None = None
    phone: str | None = None
    email: str | None = None
    website: str | None = None
    logo: Path | None = None
    bank_details: tuple[str, ...] = ()
    payment_instructions: str | None = None
    signature_image: Path | None = None
    seal_image: Path | None = None
    signatory: str | None = None
    #: per document language, the wording that differs (config ``company.by_language``):
    #: name, address, bank_details, payment_instructions, signatory -- so an English
    #: letter names the company and its bank in English, a Chinese one in Chinese
    by_language: dict[str, dict] = field(default_factory=dict, compare=False)

    def for_language(self, language: str) -> Company:
        """This company as a document in ``language`` shows it: that language's wording,
        then what its fallback language words (zh_TW falls back to zh_CN: a Chinese name
        in the other script reads better to a Taiwanese customer than the default name),
        then the default."""
        wording: dict = {}
        for tongue in reversed(_WORDING_FALLBACK.get(language, (language,))):
            wording.update(self.by_language.get(tongue) or {})
        if not wording:
            return self
        return replace(self, **wording)


#: Where a language's company wording comes from, in order of preference.
_WORDING_FALLBACK = {"zh_TW": ("zh_TW", "zh_CN")}


@dataclass(frozen=True)
class Recipient:
    customer_id: str
    name: str
    address: tuple[str, ...] = ()
    contact: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class ActivityLine:
    date: dt.date
    type: str
    number: str
    reference: str | None
    description: str | None
    debit: Decimal | None
    credit: Decimal | None
    balance: Decimal
    disputed: bool = False


@dataclass(frozen=True)
class OpenLine:
    """An open item; ``open_amount`` is negative for unapplied credits."""

    type: str
    number: str
    date: dt.date
    due_date: dt.date
    days_overdue: int
    amount: Decimal
    open_amount: Decimal
    reference: str | None = None
    disputed: bool = False
    description: str | None = None


@dataclass(frozen=True)
class AgingBucket:
    label: str
    amount: Decimal


@dataclass(frozen=True)
class StatementSection:
    """One currency of a statement. ``closing_balance`` = sum of open items."""

    currency: str
    opening_balance: Decimal
    closing_balance: Decimal
    activity: tuple[ActivityLine, ...]
    open_items: tuple[OpenLine, ...]
    unapplied: Decimal
    aging: tuple[AgingBucket, ...]
    overdue: Decimal
    confirmed_on: dt.date | None = None
    confirmed_balance: Decimal | None = None


@dataclass(frozen=True)
class StatementData:
    kind: str  # activity | open-item
    period_label: str
    period_start: dt.date
    period_end: dt.date
    issue_date: dt.date
    language: str
    company: Company
    recipient: Recipient
    sections: tuple[StatementSection, ...]
    reply_by: dt.date | None = None

    @property
    def document_number(self) -> str:
        return f"ST-{self.period_label}-{self.recipient.customer_id}"


@dataclass(frozen=True)
class LetterItem:
    number: str
    date: dt.date
    due_date: dt.date
    days_overdue: int
    open_amount: Decimal
    level: int
    interest: Decimal = Decimal(0)
    reference: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class LetterCharge:
    label: str
    amount: Decimal


@dataclass(frozen=True)
class PreviousLetter:
    date: dt.date
    level: int


@dataclass(frozen=True)
class LetterData:
    """A dunning letter for one customer and currency at one level."""

    level: int
    level_name: str
    template: str
    language: str
    currency: str
    as_of: dt.date
    pay_by: dt.date
    company: Company
    recipient: Recipient
    items: tuple[LetterItem, ...]
    overdue_total: Decimal
    charges: tuple[LetterCharge, ...] = ()
    interest_total: Decimal = Decimal(0)
    total_due: Decimal = Decimal(0)
    previous_letters: tuple[PreviousLetter, ...] = ()
    broken_promise: tuple[dt.date, Decimal] | None = None
    contact: str | None = None
    stop_supply: bool = False
    extra: dict = field(default_factory=dict)
    #: a preview: marked DRAFT on every page and without the number a sent letter gets
    draft: bool = False

    @property
    def document_number(self) -> str:
        if self.draft:  # a preview must not be mistaken for, or quoted as, a sent letter
            return f"DRAFT-{self.recipient.customer_id}-{self.currency}-L{self.level}"
        return f"DL-{self.as_of.isoformat()}-{self.recipient.customer_id}-{self.currency}" \
               f"-L{self.level}"
