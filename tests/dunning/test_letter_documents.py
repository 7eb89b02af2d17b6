"""Dunning letters as the customer reads them (pdftotext), and why each is at its level.
Issue 23, "Documents a customer receives": letters."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.dunning import test_run
from tests.dunning.test_run import run

book = test_run.book  # the example book with the example config

pytestmark = pytest.mark.skipif(
    subprocess.run(["which", "pdftotext"], capture_output=True).returncode,
    reason="poppler-utils not installed")


def _text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


def _words(path: Path) -> str:
    return " ".join(_text(path).split())


def _set(book, old: str, new: str) -> None:
    content = book.config.read_text(encoding="utf-8")
    assert old in content, old
    book.config.write_text(content.replace(old, new, 1), encoding="utf-8")


def _letter(book, rows: dict, key: tuple[str, str]) -> Path:
    return book.cwd / "letters" / rows[key]["file"]


def test_chinese_letters_close_with_cizhi_jingli_on_their_own_lines(book):
    rows = run(book, "2026-11-22", "--customer", "C001")
    lines = [line.strip() for line in _text(_letter(book, rows, ("C001", "CNY"))).splitlines()
             if line.strip()]
    at = lines.index("此致")
    assert lines[at + 1] == "敬礼！"  # the salute on the next line, alone
    import re

    boxes = subprocess.run(["pdftotext", "-bbox", str(_letter(book, rows, ("C001", "CNY"))),
                            "-"], capture_output=True, text=True, check=True).stdout
    left = {word: float(x) for x, word in re.findall(r'xMin="([\d.]+)"[^>]*>([^<]+)</word>',
                                                     boxes)}
    assert left["此致"] - left["敬礼！"] > 15  # 此致 indented two characters, 敬礼 at the margin
    assert left["财务部"] > 250  # the signatory, on the right below the salute


def test_english_letters_use_the_english_company_and_bank_names_and_salutation(book):
    """The config's company.by_language.en wording; "Dear Sir or Madam" without a
    contact person, never "Dear <company name>"."""
    rows = run(book, "2026-11-22", "--customer", "C003", "--customer", "C001")
    english = _words(_letter(book, rows, ("C003", "EUR")))
    assert "East China Trading Co., Ltd." in english and "Bank of China, Shanghai" in english
    assert "华东贸易有限公司" not in english and "中国银行" not in english
    assert "Dear Sarah Jones," in english
    chinese = _words(_letter(book, rows, ("C001", "CNY")))
    assert "华东贸易有限公司" in chinese and "中国银行上海分行" in chinese
    assert "Bank of China" not in chinese


def test_english_salutation_without_a_contact_person(book, tmp_path):
    customers = tmp_path / "c.csv"
    customers.write_text("id,name,email,language,currency,address,contact\n"
                         "C003,Northwind Trading Ltd,a@n.example,en,EUR,1 Road,\n",
                         encoding="utf-8")
    assert book("import", "customers", str(customers)).exit_code == 0
    rows = run(book, "2026-11-22", "--customer", "C003")
    text = _words(_letter(book, rows, ("C003", "EUR")))
    assert "Dear Sir or Madam," in text and "Dear Northwind" not in text


@pytest.mark.parametrize(("lang", "paid"), [("en", "disregard"), ("zh_CN", "请忽略本函"),
                                            ("zh_TW", "請忽略本函")])
def test_the_legal_hand_over_letter_does_not_say_disregard_if_paid(book, tmp_path, lang,
                                                                   paid):
    out = tmp_path / lang
    result = book("dunning", "preview", "C003", "--level", "4", "-o", str(out))
    assert result.exit_code == 0, result.output
    legal = next(out.glob("*.pdf"))
    text = _words(legal)
    assert "legal" in text.lower() or "律师" in text or "法律" in text
    assert "disregard" not in text and "忽略" not in text
    reminder = tmp_path / f"{lang}-1"
    book("dunning", "preview", "C003", "--level", "1", "-o", str(reminder))
    if lang == "en":
        assert paid in _words(next(reminder.glob("*.pdf")))


def test_a_preview_is_marked_draft_and_has_no_letter_number(book, tmp_path):
    result = book("dunning", "preview", "C003", "--level", "2", "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    pdf = next(tmp_path.glob("preview-*.pdf"))
    text = _words(pdf)
    assert "DRAFT" in text
    assert "DL-2026-11-22-C003" not in text  # the number a sent letter would carry
    sent = run(book, "2026-11-22", "--customer", "C003")
    real = _words(_letter(book, sent, ("C003", "EUR")))
    assert "DRAFT" not in real and "DL-2026-11-22-C003-EUR-L1" in real


def test_the_reason_column_says_why_a_letter_is_at_its_level(book):
    first = run(book, "2026-11-22")
    written = {k: v for k, v in first.items() if v["status"] == "written"}
    assert written and all(v["reason"].startswith("first letter: starts at level 1")
                           for v in written.values())
    # C002's items are old enough for a higher level: the reason names it
    assert "calls for level" in first[("C002", "CNY")]["reason"]
    later = run(book, "2026-12-10", "--customer", "C002")
    assert later[("C002", "CNY")]["reason"].startswith(
        "level 1 sent 2026-11-22: one level up, to 2")


def test_first_letter_by_age_starts_at_the_level_the_age_calls_for(book, tmp_path):
    default = run(book, "2026-11-22", "--customer", "C002", "--dry-run")
    assert default[("C002", "CNY")]["level"] == 1
    _set(book, "  first_letter: level-1", "  first_letter: by-age")
    by_age = run(book, "2026-11-22", "--customer", "C002", "--dry-run")
    assert by_age[("C002", "CNY")]["level"] > 1
    assert "as its oldest item's age calls for" in by_age[("C002", "CNY")]["reason"]
    _set(book, "  first_letter: by-age", "  first_letter: sometimes")
    bad = book("dunning", "run", "--as-of", "2026-11-22", "--dry-run")
    assert bad.exit_code == 2 and "dunning.first_letter" in bad.output
    assert json.loads(book("dunning", "history", "--json").stdout) == []
