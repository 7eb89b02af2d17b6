"""What the statement and letter pages say and where it sits, read back from the PDF:
account numbers kept whole, a zero balance read as settled, the company named in the
document's script, the remittance slip's last line clear of the table, the open-item
header readable, and both reference and description shown."""

from __future__ import annotations

import dataclasses
import re
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from arcli.render.letter import render_letter
from arcli.render.model import Company
from arcli.render.samples import sample_letter, sample_statement
from arcli.render.statement import render_statement
from arcli.render.textfit import wrap_text

D = Decimal
ACCOUNT = "4563 5100 0012 3456 789"
BANK = ("中国银行上海分行 Bank of China, Shanghai Branch",
        f"账号 Account {ACCOUNT} · SWIFT BKCHCNBJ300")


def _pdf(rendered, tmp_path: Path, name: str = "doc.pdf") -> Path:
    path = tmp_path / name
    path.write_bytes(rendered.pdf if hasattr(rendered, "pdf") else bytes(rendered))
    return path


def _text(path: Path, *flags: str) -> str:
    return subprocess.run(["pdftotext", *flags, str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def _statement(language: str, **changes):
    data = sample_statement(language, lines=4)
    company = changes.pop("company", data.company)
    section = dataclasses.replace(data.sections[0], **changes.pop("section", {}))
    return dataclasses.replace(data, company=company, sections=(section,), **changes)


@pytest.mark.parametrize("language,settled", [
    ("en", "nil in USD (0.00, settled)"), ("zh_CN", "USD 余额为零（已结清）"),
    ("zh_TW", "USD 餘額為零（已結清）")])
def test_a_zero_currency_reads_as_settled_on_the_confirmation_slip(
        tmp_path, language, settled):
    data = _statement(language)
    paid = dataclasses.replace(data.sections[0], currency="USD", closing_balance=D("0.00"),
                               open_items=(), overdue=D("0.00"))
    data = dataclasses.replace(data, sections=(data.sections[0], paid))
    flat = re.sub(r"\s+", "", _text(_pdf(render_statement(data), tmp_path)))
    assert re.sub(r"\s+", "", settled) in flat
    assert "欠贵司USD" not in flat and "欠貴公司USD" not in flat
    assert "EUR100.00" in flat  # the section that is owed still reads as owed


def test_config_example_words_the_company_in_traditional_chinese_for_zh_tw(tmp_path):
    from arcli.config import load_config
    from arcli.statements import company_from_config

    company = company_from_config(load_config(Path(__file__).parents[2] / "config.example.yaml"))
    data = _statement("zh_TW", company=company)
    text = _text(_pdf(render_statement(data), tmp_path))
    assert "華東貿易有限公司" in text and "帳號" in text
    assert "华东贸易有限公司" not in text and "账号" not in text


def test_zh_tw_takes_what_it_leaves_out_from_zh_cn_then_the_default():
    company = Company(name="Default Co", signatory="Default", bank_details=("Bank",),
                      by_language={"zh_CN": {"name": "华东贸易", "signatory": "财务部"},
                                   "zh_TW": {"name": "華東貿易"}})
    worded = company.for_language("zh_TW")
    assert (worded.name, worded.signatory, worded.bank_details) == \
        ("華東貿易", "财务部", ("Bank",))
    assert company.for_language("zh_CN").name == "华东贸易"
    assert company.for_language("en").name == "Default Co"
    assert Company(name="Only").for_language("zh_TW").name == "Only"


def _account_lines(path: Path) -> list[str]:
    text = _text(path, "-layout").replace("\u00a0", " ")
    return [line for line in text.splitlines() if "4563" in line or "789" in line]


@pytest.mark.parametrize("language", ["en", "zh_CN", "zh_TW"])
def test_account_numbers_never_break_inside_on_the_slip_or_in_a_letter(tmp_path, language):
    """Whatever text stands before it, the account number is printed on one line."""
    for pad in range(0, 48, 4):
        bank = ("Bank of China " + "Shanghai " * (pad // 8),
                f"{'账号 ' if language != 'en' else ''}Account{'x' * pad} {ACCOUNT} "
                "· SWIFT BKCHCNBJ300")
        company = Company(name="East China Trading Co., Ltd.", bank_details=bank)
        slip = _pdf(render_statement(_statement(language, company=company)), tmp_path,
                    f"s{pad}.pdf")
        letter = dataclasses.replace(sample_letter("reminder", language), company=company)
        body = _pdf(render_letter(letter), tmp_path, f"l{pad}.pdf")
        for path in (slip, body):
            lines = _account_lines(path)
            assert lines, path
            assert all(ACCOUNT in line for line in lines), (pad, path.name, lines)


def test_wrapped_cells_keep_units_whole_or_give_them_a_line_of_their_own():
    """At every width: an amount, a document number, a SWIFT code, an IBAN and an account
    number each stay on one line if a line can hold them."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    units = ["1,234,567.89", "INV-CN-2026-10-0177", "BKCHCNBJ300", "DE89 3704 0044 0532 0130 00",
             ACCOUNT]
    value = "Paid 1,234,567.89 on INV-CN-2026-10-0177 via BKCHCNBJ300 from " \
            "DE89 3704 0044 0532 0130 00 to 账号 4563 5100 0012 3456 789 thanks"
    for room in range(30, 400, 3):
        lines = wrap_text(value, "Helvetica", 8, room)
        assert "".join(lines).replace(" ", "") == value.replace(" ", "")
        for unit in units:
            if stringWidth(unit, "Helvetica", 8) <= room:
                assert any(unit in line for line in lines), (room, unit, lines)


def _words(path: Path) -> list[tuple[str, float, float, float]]:
    """(word, xMin, xMax, yMin) of every word on the first page, from ``pdftotext -bbox``."""
    html = _text(path, "-bbox", "-f", "1", "-l", "1")
    return [(m[5], float(m[1]), float(m[3]), float(m[2])) for m in re.finditer(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
        html)]


def test_the_open_item_header_leaves_room_between_due_date_and_days_overdue(tmp_path):
    words = _words(_pdf(render_statement(_statement("en")), tmp_path))
    days = next(w for w in words if w[0] == "Days")
    left = max(w[2] for w in words if w[0] == "date" and abs(w[3] - days[3]) < 1
               and w[2] < days[1])
    assert days[1] - left >= 6 * 72 / 25.4, (left, days)  # at least 6 mm apart


@pytest.mark.parametrize("language,header", [
    ("en", "Reference / description"), ("zh_CN", "参考号 / 摘要"), ("zh_TW", "參考號 / 摘要")])
def test_the_activity_table_shows_reference_and_description(tmp_path, language, header):
    data = _statement(language)
    lines = data.sections[0].activity
    lines = (dataclasses.replace(lines[0], reference="XS-2026-1002", description="退货折让"),
             dataclasses.replace(lines[1], reference=None, description="Consulting November"),
             dataclasses.replace(lines[2], reference="PO-77", description=None),
             *lines[3:])
    data = _statement(language, section={"activity": lines})
    text = _text(_pdf(render_statement(data), tmp_path), "-layout")
    assert header in text
    for value in ("XS-2026-1002", "退货折让", "Consulting November", "PO-77"):
        assert value in text, value


def _rules_and_baselines(path: Path, page_number: int):
    """The y of every horizontal rule drawn on a page, and the baseline y and size of
    each text shown, in page coordinates (pypdf's content-stream visitors)."""
    from pypdf import PdfReader

    rules, texts, start = [], [], {}

    def operand(op, args, cm, tm):
        if op in (b"m", b"l") and len(args) == 2:
            x, y = float(args[0]), float(args[1])
            point = (cm[0] * x + cm[2] * y + cm[4], cm[1] * x + cm[3] * y + cm[5])
            if op == b"m":
                start["p"] = point
            elif abs(start.get("p", (0, -1e9))[1] - point[1]) < 0.01:
                rules.append(point[1])

    def text(value, cm, tm, font, size):
        if value.strip():
            texts.append((value, tm[5] * cm[3] + cm[5], size * tm[3] * cm[3] or size))

    PdfReader(path).pages[page_number].extract_text(visitor_operand_before=operand,
                                                    visitor_text=text)
    return rules, texts


@pytest.mark.parametrize("language,closing", [
    ("en", "please return by"), ("zh_CN", "请于"), ("zh_TW", "請於")])
def test_the_slips_last_line_keeps_clear_of_the_remittance_table(
        tmp_path, language, closing):
    """The line under the slips stays below the remittance table's bottom rule by more
    than its own type size reaches above its baseline, when that table is the taller."""
    bank = ("中國銀行上海分行 Bank of China, Shanghai Branch", f"帳號 Account {ACCOUNT}",
            "SWIFT BKCHCNBJ300", "Zhongshan East Road 1, Shanghai", "Branch code 0000")
    data = _statement(language, company=Company(name="華東貿易有限公司", bank_details=bank))
    owed = dataclasses.replace(data.sections[0], currency="USD")
    data = dataclasses.replace(data, sections=(data.sections[0], owed))
    path = _pdf(render_statement(data), tmp_path)
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(
        ["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout)[1])
    rules, texts = _rules_and_baselines(path, pages - 1)
    baseline, size = next((y, s) for value, y, s in texts if closing in value)
    above = min(y for y in rules if y > baseline)
    assert above - (baseline + size) >= 1.0, (above, baseline, size)


@pytest.mark.parametrize("language,header", [
    ("en", "Reference / description"), ("zh_CN", "参考号 / 摘要"), ("zh_TW", "參考號 / 摘要")])
def test_open_items_and_letter_items_show_reference_and_description(
        tmp_path, language, header):
    data = _statement(language)
    item = dataclasses.replace(data.sections[0].open_items[0], reference="XS-2026-1002",
                               description="退货折让 returned goods")
    statement = _statement(language, kind="open-item", section={"open_items": (item,)})
    letter = sample_letter("reminder", language)
    letter = dataclasses.replace(letter, items=(dataclasses.replace(
        letter.items[0], reference="PO-4711", description="Consulting November"),))
    for path, values in ((_pdf(render_statement(statement), tmp_path, "s.pdf"),
                          ("XS-2026-1002", "退货折让 returned goods")),
                         (_pdf(render_letter(letter), tmp_path, "l.pdf"),
                          ("PO-4711", "Consulting November"))):
        text = _text(path, "-layout")
        assert header in text
        for value in values:
            assert value in text, (path.name, value)
