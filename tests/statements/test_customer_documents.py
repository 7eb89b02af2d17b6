"""What a customer receives, read back the way a customer's tools read it: poppler
(pdftotext, pdffonts, pdfsig), qpdf and pypdf. Issue 23, "Documents a customer receives"."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.statements import test_statements
from tests.statements.test_statements import pdf_text, run_statements

signed_book = test_statements.signed_book  # the same fixture: a book with signing set up

pytestmark = pytest.mark.skipif(
    subprocess.run(["which", "pdftotext", "qpdf", "pdfsig"], capture_output=True).returncode,
    reason="poppler-utils or qpdf not installed")


def _tool(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), capture_output=True, text=True)


def _seal(path: Path) -> Path:
    """A red round seal as a PNG with transparency, as a company would scan its 公章."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 8, 192, 192), outline=(200, 20, 20, 255), width=10)
    draw.regular_polygon((100, 100, 40), 5, fill=(200, 20, 20, 255))
    image.save(path)
    return path


def _configure(book, text: str, replacement: str) -> None:
    config = Path(book.config)
    content = config.read_text(encoding="utf-8")
    assert text in content, text
    config.write_text(content.replace(text, replacement, 1), encoding="utf-8")


# -- signing ---------------------------------------------------------------------------------
def test_signed_files_read_cleanly_with_poppler_and_qpdf(signed_book, tmp_path):
    """poppler printed "Internal Error: xref num … not found" on every signed file (the
    signature field's appearance stream from pyHanko's stamp) and rebuilt its xref."""
    out = tmp_path / "st"
    result, rows = run_statements(signed_book, out)
    assert result.exit_code == 0, result.output
    assert rows and all(r["signed"] is True for r in rows.values())
    for row in rows.values():
        path = str(out / row["file"])
        for argv in (["pdftotext", path, "-"], ["pdffonts", path], ["pdfinfo", path]):
            run = _tool(*argv)
            assert run.returncode == 0 and run.stderr == "", (argv, run.stderr)
        check = _tool("qpdf", "--check", path)
        assert check.returncode == 0, check.stdout + check.stderr
        sig = _tool("pdfsig", path)
        assert "Signature is Valid" in sig.stdout and "Total document signed" in sig.stdout


def test_a_signing_run_signs_files_an_unsigned_run_left(signed_book, tmp_path):
    """Files that were unchanged and unsigned stayed unsigned without --force."""
    out = tmp_path / "st"
    run_statements(signed_book, out, "--no-sign")
    result, rows = run_statements(signed_book, out)
    assert result.exit_code == 0, result.output
    assert rows and {r["signed"] for r in rows.values()} == {True}
    assert {r["status"] for r in rows.values()} == {"written"}
    files = [str(out / r["file"]) for r in rows.values()]
    verified = signed_book("verify", *files, "--json")
    assert verified.exit_code == 0, verified.output
    assert {r["status"] for r in json.loads(verified.stdout)} == {"ok"}
    _again, rerun = run_statements(signed_book, out)  # now signed: left alone
    assert {r["status"] for r in rerun.values()} == {"unchanged"}
    assert {r["signed"] for r in rerun.values()} == {True}


def test_signed_documents_show_signer_date_and_seal(signed_book, tmp_path):
    """The visible block: who signed, on which date, and the company seal (a PNG from
    the config) drawn by reportlab under the signature field."""
    seal = _seal(tmp_path / "seal.png")
    _configure(signed_book, "  seal_image: null", f"  seal_image: {seal}")
    out = tmp_path / "st"
    result, rows = run_statements(signed_book, out, "--customer", "C003")
    assert result.exit_code == 0, result.output
    path = out / rows["C003"]["file"]
    text = " ".join(pdf_text(path).split())
    assert "Digitally signed by Finance Department" in text  # company.by_language.en
    assert "Authorised signature · Nov 22, 2026" in text  # the issue date beside the signer
    images = [line.split() for line in
              _tool("pdfimages", "-list", str(path)).stdout.splitlines()[2:]]
    assert [(i[3], i[4]) for i in images if i[2] == "image"] == [("200", "200")]  # the seal
    unsigned = tmp_path / "plain"
    run_statements(signed_book, unsigned, "--customer", "C003", "--no-sign")
    plain = " ".join(pdf_text(unsigned / rows["C003"]["file"]).split())
    assert "Digitally signed" not in plain


# -- no text is cut ----------------------------------------------------------------------------
def _import(book, tmp_path: Path, customers: list[list[str]], ledger: list[list[str]]) -> None:
    import csv

    for kind, rows in (("customers", customers), ("ledger", ledger)):
        path = tmp_path / f"{kind}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(rows)
        result = book("import", kind, str(path))
        assert result.exit_code == 0, result.output


LEDGER_HEADER = ["type", "number", "customer", "date", "due_date", "amount", "currency",
                 "reference"]


def _columns(path: Path) -> str:
    """The PDF's text column by column: on each page, each line is cut into pieces where
    words stand apart (a cell's edge), and the pieces that start at the same x are joined
    top to bottom without spaces. A text wrapped in its table cell or in the address
    window reads whole here."""
    import html
    import re

    xml = _tool("pdftotext", "-bbox", str(path), "-").stdout
    pattern = r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)"[^>]*>([^<]*)</word>'
    columns: dict[tuple[int, int], list[tuple[float, str]]] = {}
    for page, body in enumerate(xml.split("<page ")[1:]):
        lines: dict[int, list[tuple[float, float, str]]] = {}
        for x1, y, x2, word in re.findall(pattern, body):
            lines.setdefault(round(float(y)), []).append((float(x1), float(x2),
                                                          html.unescape(word)))
        for y, words in lines.items():
            words.sort()
            start, text, end = words[0][0], "", words[0][0]
            for x1, x2, word in words:
                if x1 - end > 6:
                    columns.setdefault((page, round(start)), []).append((y, text))
                    start, text = x1, ""
                text, end = text + word, x2
            columns.setdefault((page, round(start)), []).append((y, text))
    return "|".join("".join(t for _, t in sorted(parts)) for parts in columns.values())


def _flat(text: str) -> str:
    return "".join(text.split())


def test_long_numbers_names_and_six_line_addresses_print_whole(signed_book, tmp_path):
    """Document numbers were cut with an ellipsis (``INV-2026-016…``), a long name was
    cut, and the sixth address line was dropped from the window."""
    name = "Internationale Handelsgesellschaft für Maschinenbau und Anlagentechnik mbH & Co. KG"
    address = "\n".join(["Abteilung Kreditorenbuchhaltung, Rechnungseingang Gebäude C",
                         "z. Hd. Frau Dr. Maximiliane Mustermann-Beispielfrau",
                         "Industriestraße 123-125, Hinterhaus, 3. Obergeschoss",
                         "Gewerbegebiet Nord-West", "Postfach 12 34 56",
                         "70565 Stuttgart-Vaihingen", "DEUTSCHLAND"])
    numbers = ["INV-2026-0160-SUBSIDIARY-LONG-000123", "BANK-CN20261014-00000000012345"]
    _import(signed_book, tmp_path,
            [["id", "name", "language", "currency", "address"], ["L01", name, "en", "EUR",
                                                                  address]],
            [LEDGER_HEADER, ["invoice", numbers[0], "L01", "2026-10-02", "", "1000.00", "EUR",
                             "Order 4711 / project Neubau Halle 7 / cost centre 12-3456-789"],
             ["payment", numbers[1], "L01", "2026-10-14", "", "250.00", "EUR", ""]])
    out = tmp_path / "st"
    result, rows = run_statements(signed_book, out, "--customer", "L01", "--no-sign")
    assert result.exit_code == 0, result.output
    text = pdf_text(out / rows["L01"]["file"])
    assert "…" not in text
    flat = _columns(out / rows["L01"]["file"])
    for value in [*numbers, name, *address.split("\n"),
                  "Order 4711 / project Neubau Halle 7 / cost centre 12-3456-789"]:
        assert _flat(value) in flat, value
    first_page = text.split("\f")[0]
    assert "DEUTSCHLAND" in first_page and "70565 Stuttgart-Vaihingen" in first_page


def test_an_address_too_long_for_the_window_fails_the_document_with_a_reason(
        signed_book, tmp_path):
    address = "\n".join(f"Address line {n} of a very long address" for n in range(1, 16))
    _import(signed_book, tmp_path,
            [["id", "name", "language", "currency", "address"], ["L02", "Long Ltd", "en",
                                                                  "EUR", address]],
            [LEDGER_HEADER, ["invoice", "I-1", "L02", "2026-10-02", "", "10.00", "EUR", ""]])
    out = tmp_path / "st"
    result, rows = run_statements(signed_book, out, "--customer", "L02", "--no-sign")
    assert result.exit_code == 1
    assert rows["L02"]["status"] == "failed"
    assert "envelope window" in rows["L02"]["error"] and "L02" in rows["L02"]["error"]
    assert not list(out.glob("*.pdf"))


# -- credit balances -------------------------------------------------------------------------
OVERDUE_RED = (0xC0, 0x39, 0x2B)


def _red_pixels(pdf: Path, tmp_path: Path) -> int:
    """How many pixels of the first page are the overdue red (bars, nothing else uses it)."""
    from PIL import Image

    prefix = tmp_path / "page"
    subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(pdf),
                    str(prefix)], check=True)
    data = Image.open(next(tmp_path.glob("page*.png"))).convert("RGB").tobytes()
    return sum(1 for pixel in zip(data[0::3], data[1::3], data[2::3], strict=True)
               if all(abs(a - b) < 25 for a, b in zip(pixel, OVERDUE_RED, strict=True)))


@pytest.mark.parametrize(("lang", "credit", "demands"), [
    ("en", "is a credit in your favour", ["Please pay", "Remittance slip", "Balance due"]),
    ("zh_CN", "为贵司的贷方余额", ["请将逾期款项", "汇款单", "应付余额", "请尽快支付"]),
])
def test_a_credit_balance_reads_as_a_credit_in_the_customers_favour(
        signed_book, tmp_path, lang, credit, demands):
    """C004 has USD 800.00 unapplied: the statement asked it to "please pay" the
    "balance due" of -800.00 and drew the credit as a red bar."""
    out = tmp_path / "st"
    result, rows = run_statements(signed_book, out, "--customer", "C004", "--no-sign",
                                  "--lang", lang)
    assert result.exit_code == 0, result.output
    assert rows["C004"]["closing_balance"] == "-800.00"
    path = out / rows["C004"]["file"]
    text = " ".join(pdf_text(path).split())
    assert credit in text and "800.00" in text
    for words in demands:
        assert words not in text
    assert "-800.00 USD" not in text
    assert _red_pixels(path, tmp_path) == 0


# -- a short statement on one page -------------------------------------------------------------
def test_a_short_statement_fits_one_page_with_its_slips_unless_configured(
        signed_book, tmp_path):
    out = tmp_path / "st"
    result, rows = run_statements(signed_book, out, "--customer", "C003", "--no-sign")
    assert result.exit_code == 0, result.output
    assert rows["C003"]["pages"] == 1
    text = pdf_text(out / rows["C003"]["file"])
    assert "Remittance slip" in text and "Balance confirmation" in text and "\f" not in \
        text.rstrip("\f")
    _configure(signed_book, "  slips: same-page", "  slips: own-page")
    apart = tmp_path / "apart"
    result, rows = run_statements(signed_book, apart, "--customer", "C003", "--no-sign")
    assert result.exit_code == 0, result.output
    assert rows["C003"]["pages"] == 2
    second = pdf_text(apart / rows["C003"]["file"]).split("\f")[1]
    assert "Remittance slip" in second and "Balance confirmation" in second
    _configure(signed_book, "  slips: own-page", "  slips: sideways")
    bad = signed_book("statements", "--period", "2026-10", "--out", str(tmp_path / "bad"))
    assert bad.exit_code == 2, bad.output
    assert "statements.slips" in bad.output and "own-page" in bad.output
    assert not (tmp_path / "bad").exists()


def test_this_month_ends_today_not_at_the_end_of_the_month(signed_book, tmp_path):
    """``--period this-month`` on 22 Nov dated the statement 30 Nov and counted days
    overdue up to then."""
    import datetime as dt

    from tests.statements.test_statements import attachment

    out = tmp_path / "st"
    result = signed_book("statements", "--period", "this-month", "--out", str(out),
                         "--customer", "C003", "--no-sign", "--json")
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)[0]
    copy = attachment(out / row["file"])
    assert copy["period"] == "2026-11" and copy["period_end"] == "2026-11-22"
    for item in copy["sections"][0]["open_items"]:
        due = item["due_date"]
        assert item["days_overdue"] == max(0, (dt.date(2026, 11, 22)
                                               - dt.date.fromisoformat(due)).days)
    text = " ".join(pdf_text(out / row["file"]).split())
    assert "Nov 30, 2026" not in text and "to Nov 22, 2026" in text


def test_statements_dry_run_lists_what_would_be_produced_and_writes_nothing(
        signed_book, tmp_path):
    out = tmp_path / "st"
    result = signed_book("statements", "--period", "2026-10", "--out", str(out),
                         "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    planned = {r["customer"] + r["currency"]: r for r in json.loads(result.stdout)}
    assert not out.exists()  # no folder, no files, no manifest
    real, _rows = run_statements(signed_book, out)
    assert real.exit_code == 0
    written = {r["customer"] + r["currency"]: r
               for r in json.loads(real.stdout) if r["status"] == "written"}
    assert {k for k, r in planned.items() if r["status"] == "would write"} == set(written)
    for key, row in written.items():
        assert planned[key]["file"] == row["file"]
        assert planned[key]["closing_balance"] == row["closing_balance"]
    assert "nothing written or recorded" in result.stderr
