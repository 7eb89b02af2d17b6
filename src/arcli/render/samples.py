"""Sample documents for `arcli templates check` and benchmarks: every field filled, with
markup-like and CJK text so that template and escaping problems show up."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from arcli.render.model import (
    ActivityLine,
    AgingBucket,
    Company,
    LetterCharge,
    LetterData,
    LetterItem,
    OpenLine,
    PreviousLetter,
    Recipient,
    StatementData,
    StatementSection,
)

D = Decimal
DAY = dt.date(2026, 10, 31)
COMPANY = Company(name="Sample Trading Co. 样例贸易", address=("1 Sample Road", "Shanghai"),
                  registration_no="REG-1", tax_id="TAX-1", phone="+86 21 0000 0000",
                  email="ar@example.com", bank_details=("Bank of Samples", "IBAN XX00 0000"),
                  signatory="Finance")
RECIPIENT = Recipient("S-1", "<b>Sample</b> & Co 样本", ("Line 1", "Line 2"), "A. Buyer",
                      "buyer@example.com")


def sample_statement(language: str, lines: int = 30) -> StatementData:
    activity = tuple(
        ActivityLine(DAY - dt.timedelta(days=lines - i), "invoice" if i % 4 else "payment",
                     f"INV-{i:05d}", f"PO-{i}", "goods", D("100.00") if i % 4 else None,
                     None if i % 4 else D("50.00"), D(i * 10), disputed=i == 3)
        for i in range(lines))
    items = (OpenLine("invoice", "INV-00001", DAY - dt.timedelta(days=40),
                      DAY - dt.timedelta(days=10), 10, D("100.00"), D("100.00"), None, True),)
    buckets = tuple(AgingBucket(label, D("100.00") if label == "1-30" else D("0.00"))
                    for label in ("current", "1-30", "31-60", "61-90", "91+"))
    section = StatementSection("EUR", D("0.00"), D("100.00"), activity, items, D("0.00"),
                               buckets, D("100.00"), DAY, D("90.00"))
    return StatementData("activity", "2026-10", dt.date(2026, 10, 1), DAY, DAY, language,
                         COMPANY, RECIPIENT, (section,), DAY + dt.timedelta(days=14))


def sample_letter(template: str, language: str, level: int = 2) -> LetterData:
    items = (LetterItem("INV-00001", DAY - dt.timedelta(days=60), DAY - dt.timedelta(days=30),
                        30, D("1000.00"), level, D("12.34")),)
    return LetterData(level, "Sample level", template, language, "EUR", DAY,
                      DAY + dt.timedelta(days=10), COMPANY, RECIPIENT, items, D("1000.00"),
                      (LetterCharge("fee", D("5.00")),), D("12.34"), D("1017.34"),
                      (PreviousLetter(DAY - dt.timedelta(days=14), level - 1),),
                      (DAY - dt.timedelta(days=3), D("500.00")), "Sales desk", level >= 3)


def sample_email_context(kind: str) -> dict:
    """What ``arcli send`` hands an email template (customer, company, file, period),
    filled with sample values."""
    return {"customer": {"id": RECIPIENT.customer_id, "name": RECIPIENT.name},
            "company": COMPANY, "file": f"{kind}-S-1-2026-10.pdf",
            "period": "2026-10" if kind == "statement" else None}


def check_email(text: str) -> str:
    """What is wrong with a rendered email template, or "": its first line must be the
    subject (``Subject: …``, not empty) and a body must follow."""
    subject, _, body = text.partition("\n")
    if not subject.startswith("Subject:") or not subject.removeprefix("Subject:").strip():
        return "the first line must be 'Subject: …' with a subject"
    if not body.strip():
        return "the message has no body"
    return ""
