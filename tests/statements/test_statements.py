"""Statements end to end: real PDFs parsed back, tie-outs, signatures, reruns, failures."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                reason="poppler-utils not installed")


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


def attachment(path: Path) -> dict:
    from pypdf import PdfReader

    files = PdfReader(str(path)).attachments
    return json.loads(files["statement.json"][0])


@pytest.fixture
def signed_book(example_book, tmp_path):
    """The example book with company details and a signing certificate configured."""
    config = tmp_path / "arcli.yaml"
    shutil.copy(ROOT / "config.example.yaml", config)
    example_book.config = config
    result = example_book("signing", "init", "--out", str(tmp_path / "keys"))
    assert result.exit_code == 0, result.output
    text = config.read_text(encoding="utf-8").replace(
        "  pkcs12: null              # example: signing/arcli-test.p12",
        f"  pkcs12: {tmp_path / 'keys' / 'arcli-test.p12'}\n"
        f"  password_file: {tmp_path / 'keys' / 'arcli-test.password'}")
    config.write_text(text, encoding="utf-8")
    return example_book


def run_statements(book, out: Path, *extra: str):
    result = book("statements", "--period", "2026-10", "--out", str(out), "--json", *extra)
    rows = json.loads(result.stdout) if result.stdout.strip() else []
    return result, {r["customer"]: r for r in rows}


def test_closing_balance_ties_to_aging_ledger_and_attachment(signed_book, tmp_path):
    out = tmp_path / "st"
    result, rows = run_statements(signed_book, out)
    assert result.exit_code == 0, result.output
    aging = json.loads(signed_book("aging", "--as-of", "2026-10-31", "--json").stdout)
    aged = {(r["customer"], r["currency"]): Decimal(r["total"]) for r in aging}
    assert {c for c, _ in aged} == set(rows)
    for (customer, currency), total in aged.items():
        path = out / rows[customer]["file"]
        data = attachment(path)
        section = next(s for s in data["sections"] if s["currency"] == currency)
        assert Decimal(section["closing_balance"]) == total
        assert sum(Decimal(i["open_amount"]) for i in section["open_items"]) == total
        opening = Decimal(section["opening_balance"])
        moved = sum(Decimal(a["debit"] or 0) - Decimal(a["credit"] or 0)
                    for a in section["activity"])
        assert opening + moved == total
        # The printed closing balance is the same figure (formatted with separators).
        assert f"{total:,.2f}" in pdf_text(path)


def test_signatures_verify_and_tampering_is_detected(signed_book, tmp_path):
    out = tmp_path / "st"
    run_statements(signed_book, out)
    files = sorted(str(p) for p in out.glob("*.pdf"))
    ok = signed_book("verify", *files, "--json")
    assert ok.exit_code == 0, ok.output
    assert {r["status"] for r in json.loads(ok.stdout)} == {"ok"}
    assert subprocess.run(["qpdf", "--check", files[0]], capture_output=True).returncode == 0
    tampered = tmp_path / "tampered.pdf"
    data = bytearray(Path(files[0]).read_bytes())
    data[len(data) // 3] ^= 0x01
    tampered.write_bytes(bytes(data))
    bad = signed_book("verify", str(tampered), "--json")
    assert bad.exit_code == 1
    unsigned = tmp_path / "unsigned"
    run_statements(signed_book, unsigned, "--no-sign")
    plain = signed_book("verify", str(next(unsigned.glob("*.pdf"))), "--json")
    assert plain.exit_code == 1
    assert json.loads(plain.stdout)[0]["message"] == "not signed"


def test_rerun_is_byte_identical_and_jobs_give_same_content(signed_book, tmp_path):
    out = tmp_path / "st"
    run_statements(signed_book, out)
    before = {p.name: p.read_bytes() for p in out.glob("*.pdf")}
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.glob("*.pdf")}
    _result, rows = run_statements(signed_book, out)
    assert {r["status"] for r in rows.values()} == {"unchanged"}
    assert {p.name: p.read_bytes() for p in out.glob("*.pdf")} == before
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.pdf")} == mtimes
    parallel = tmp_path / "par"
    run_statements(signed_book, parallel, "--jobs", "2")
    one = {r["file"]: r["content_sha256"] for r in
           json.loads((out / "manifest.json").read_text())}
    two = {r["file"]: r["content_sha256"] for r in
           json.loads((parallel / "manifest.json").read_text())}
    assert one == two


def test_manifest_hashes_are_the_files_and_their_content(signed_book, tmp_path):
    """``sha256`` is the file on disk, signed or not; ``content_sha256`` is the PDF as
    rendered (before a signature is added to it) and its JSON copy, which the unsigned
    file shows directly and the signed file holds up to its first end of file. A document
    to be signed says so in its signature block, so the two contents differ."""
    import hashlib

    from pypdf import PdfReader

    unsigned, signed = tmp_path / "unsigned", tmp_path / "signed"
    run_statements(signed_book, unsigned, "--no-sign")
    run_statements(signed_book, signed)
    plain_rows, signed_rows = ({r["customer"]: r for r in json.loads(
        (folder / "manifest.json").read_text()) if r["status"] == "written"}
        for folder in (unsigned, signed))
    assert plain_rows and plain_rows.keys() == signed_rows.keys()
    for customer, row in plain_rows.items():
        pdf = (unsigned / row["file"]).read_bytes()
        copy = PdfReader(unsigned / row["file"]).attachments["statement.json"][0]
        assert row["sha256"] == hashlib.sha256(pdf).hexdigest() and row["signed"] == "no"
        assert row["content_sha256"] == hashlib.sha256(pdf + b"\0" + copy).hexdigest()
        other = signed_rows[customer]
        assert other["sha256"] == hashlib.sha256((signed / other["file"]).read_bytes()
                                                 ).hexdigest()
        assert other["signed"] == "yes" and other["sha256"] != row["sha256"]
        signed_pdf = (signed / other["file"]).read_bytes()
        rendered = signed_pdf[:signed_pdf.index(b"%%EOF") + len(b"%%EOF\n")]
        assert other["content_sha256"] == hashlib.sha256(rendered + b"\0" + copy).hexdigest()
        assert other["content_sha256"] != row["content_sha256"]


@pytest.mark.parametrize("selection", [(), ("--customer", "C003", "--customer", "C001",
                                             "--customer", "C000")])
def test_jobs_give_the_same_rows_in_the_same_order(example_book, tmp_path, selection):
    """With --jobs 2 each chunk of customers is assembled and rendered in a worker; the
    results, skips included, must come back exactly as one process reports them."""
    idle = tmp_path / "idle.csv"
    idle.write_text("id,name,currency\nC000,Idle Ltd,EUR\n")
    assert example_book("import", "customers", str(idle)).exit_code == 0
    runs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}"
        result = example_book("statements", "--period", "2026-10", "--out", str(out),
                              "--no-sign", "--json", "--jobs", jobs, *selection)
        assert result.exit_code == 0, result.output
        runs.append((json.loads(result.stdout), json.loads((out / "manifest.json").read_text())))
    assert runs[0] == runs[1]
    rows = runs[0][0]
    customers = [r["customer"] for r in rows]
    expected = ["C000", "C001", "C003"] if selection else \
        ["C000", "C001", "C002", "C003", "C004", "C005", "C005", "C006"]
    assert customers == expected
    status = {r["customer"]: (r["status"], r["reason"]) for r in rows}
    assert status["C000"] == ("skipped", "nothing open and no activity in the period")


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_chunk_that_cannot_be_read_fails_its_customers_only(example_book, tmp_path,
                                                              monkeypatch, jobs):
    """A store error while reading one chunk of customers (e.g. a disk error) marks those
    customers failed in the results and the manifest; the rest of the batch is written."""
    import arcli.statements
    from arcli.errors import StoreError

    real = arcli.statements.build_statements

    def flaky(conn, request, company):
        if "C004" in request.customer_ids:
            raise StoreError("database error on book.db: disk I/O error")
        yield from real(conn, request, company)

    monkeypatch.setattr(arcli.statements, "build_statements", flaky)
    out = tmp_path / "st"
    result = example_book("statements", "--period", "2026-10", "--out", str(out),
                          "--no-sign", "--json", "--jobs", jobs)
    assert result.exit_code == 1
    status = {r["customer"]: (r["status"], r["error"]) for r in json.loads(result.stdout)}
    assert status.pop("C004") == ("failed", "StoreError: database error on book.db: "
                                            "disk I/O error")
    assert {s for s, _ in status.values()} == {"written"}
    manifest = {r["customer"]: r["status"] for r in
                json.loads((out / "manifest.json").read_text())}
    assert manifest["C004"] == "failed" and manifest["C001"] == "written"
    assert not (out / "statement-C004-2026-10.pdf").exists()


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_file_that_cannot_be_synced_fails_its_customer_only(example_book, tmp_path,
                                                              disk_full_when_syncing, jobs):
    """A disk error while a file is synced (here a full disk for C004's file) fails that
    customer, leaves no file and no temporary file behind, and the rest of the batch is
    written."""
    import os

    disk_full_when_syncing("C004")
    out = tmp_path / "st"
    result = example_book("statements", "--period", "2026-10", "--out", str(out),
                          "--no-sign", "--json", "--jobs", jobs)
    assert result.exit_code == 1
    rows = json.loads(result.stdout)
    status = {r["customer"]: (r["status"], r["error"]) for r in rows}
    assert status.pop("C004") == ("failed", "OSError: [Errno 28] No space left on device")
    assert {s for s, _ in status.values()} == {"written"}
    assert [r["customer"] for r in rows] == sorted(r["customer"] for r in rows)
    assert not (out / "statement-C004-2026-10.pdf").exists()
    assert not [f for f in os.listdir(out) if f.endswith(".tmp")]
    for row in rows:
        if row["status"] == "written":
            assert (out / row["file"]).read_bytes().startswith(b"%PDF")


def test_text_content_chinese_markup_and_disputes(signed_book, tmp_path):
    out = tmp_path / "st"
    run_statements(signed_book, out)
    c001 = pdf_text(out / "statement-C001-2026-10.pdf")
    assert "对账单" in c001 and "往来余额询证函回执" in c001
    c005 = pdf_text(out / "statement-C005-2026-10.pdf")
    assert "對帳單" in c005 and "幣別：EUR" in c005 and "幣別：USD" in c005
    c006 = pdf_text(out / "statement-C006-2026-10.pdf")
    assert "Müller & Söhne <GmbH>" in c006  # escaped, printed literally
    assert "Balance confirmation" in c006 and "Remittance slip" in c006


def test_multi_page_statement_repeats_headers_and_numbers_pages(signed_book, tmp_path):
    lines = ["type,number,customer,date,due_date,amount,currency,reference,description"]
    lines += [f"invoice,BIG-{i:03d},C003,2026-10-{1 + i % 28:02d},,{100 + i}.00,EUR,,Item {i}"
              for i in range(90)]
    path = tmp_path / "big.csv"
    path.write_text("\n".join(lines) + "\n")
    assert signed_book("import", "ledger", str(path)).exit_code == 0
    out = tmp_path / "st"
    _result, rows = run_statements(signed_book, out, "--customer", "C003")
    pages = rows["C003"]["pages"]
    assert pages >= 3
    text = pdf_text(out / rows["C003"]["file"])
    assert f"Page 1 of {pages}" in text and f"Page {pages} of {pages}" in text
    second_page = text.split("\f")[1]
    assert re.search(r"Date\s+Type\s+Number\s+Reference / description\s+Debit\s+Credit\s+"
                     r"Balance", second_page)


def test_a_reference_taller_than_a_page_or_wider_than_its_column_still_prints(
        signed_book, tmp_path):
    """A ledger reference with 120 line breaks made reportlab fail the whole statement
    (a row taller than a page); a 300-character one ran over the amounts beside it. The
    tall row now continues over the pages, header repeated; the wide one is broken into
    lines within its column (it was cut with an ellipsis); both stay whole in the JSON
    copy."""
    tall = "\n".join(f"ref {n}" for n in range(120))
    wide = "W" + "x" * 299
    path = tmp_path / "odd.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["type", "number", "customer", "date", "due_date", "amount",
                         "currency", "reference", "description"])
        writer.writerow(["invoice", "TALL-1", "C003", "2026-10-12", "", "100.00", "EUR",
                         tall, ""])
        writer.writerow(["invoice", "WIDE-1", "C003", "2026-10-13", "", "200.00", "EUR",
                         wide, ""])
    assert signed_book("import", "ledger", str(path)).exit_code == 0
    out = tmp_path / "st"
    result, rows = run_statements(signed_book, out, "--customer", "C003", "--no-sign")
    assert result.exit_code == 0, result.output
    pages = rows["C003"]["pages"]
    assert rows["C003"]["status"] == "written" and pages >= 3
    text = pdf_text(out / rows["C003"]["file"])
    found = [int(n) for n in re.findall(r"\bref (\d+)\b", text)]
    # every line once, in order, in each table the open item stands in (activity, open items)
    assert found == list(range(120)) * 2
    headers = r"Date\s+Type\s+Number\s+Reference|Type\s+Number\s+Reference / description\s+Date"
    assert all(re.search(headers, page) for page in text.split("\f")[1:pages - 1])
    assert "…" not in text
    pieces = re.findall(r"(?<![A-Za-z])W?x+(?![A-Za-z])", text)
    # whole, over several lines, in the activity and the open-item table
    assert "".join(pieces) == wide * 2 and len(pieces) > 6
    row = next(line for line in text.splitlines() if "WIDE-1" in line)
    assert re.search(r"Wx+\s+200\.00\s", row)  # the amount is not overwritten
    activity = attachment(out / rows["C003"]["file"])["sections"][0]["activity"]
    assert {a["reference"] for a in activity} >= {tall, wide}


def test_a_long_name_and_address_stay_inside_the_envelope_window(signed_book, tmp_path):
    """Names and address lines were cut at 60 characters, which for Chinese text is far
    wider than the window: they ran over the title block beside it. Then they were cut to
    the window's width with an ellipsis; now they are broken into lines inside the window
    (85 mm), whole."""
    name = "华东超长名称国际贸易与制造集团股份有限公司上海浦东新区分公司第二营业部财务结算中心"
    street = "上海市浦东新区张江高科技园区碧波路690号张江微电子港三号楼五层五零一室至五零八室"
    customers, ledger = tmp_path / "c.csv", tmp_path / "l.csv"
    with customers.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["id", "name", "language", "currency", "address"],
                                      ["X002", name, "zh_CN", "CNY", street]])
    ledger.write_text("type,number,customer,date,due_date,amount,currency\n"
                      "invoice,X-1,X002,2026-10-05,,123.45,CNY\n", encoding="utf-8")
    assert signed_book("import", "customers", str(customers)).exit_code == 0
    assert signed_book("import", "ledger", str(ledger)).exit_code == 0
    out = tmp_path / "st"
    _result, rows = run_statements(signed_book, out, "--customer", "X002", "--no-sign")
    words = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1",
                            str(out / rows["X002"]["file"]), "-"],
                           capture_output=True, text=True, check=True).stdout
    found = sorted((float(m.group(2)), float(m.group(1)), float(m.group(3)), m.group(4))
                   for m in re.finditer(r'<word xMin="([\d.]+)" yMin="([\d.]+)" '
                                        r'xMax="([\d.]+)" yMax="[\d.]+">([^<]+)</word>', words))
    boxes = {word: right for _top, _left, right, word in found}
    window_right = (20 + 85) / 25.4 * 72  # MARGIN_X + 85 mm, in points
    window = "".join(w for _top, left, _right, w in found if abs(left - 20 / 25.4 * 72) < 1)
    assert name in window and street in window  # whole, in reading order
    assert "…" not in words
    for _top, left, right, word in found:
        if abs(left - 20 / 25.4 * 72) < 1 and (word in name or word in street):
            assert right <= window_right + 0.5, word
    assert "对账单" in boxes  # the title block beside it is still there, untouched


def test_failed_customer_is_reported_and_batch_goes_on(signed_book, tmp_path):
    override = tmp_path / "tpl" / "statement"
    override.mkdir(parents=True)
    (override / "zh_TW.xml.j2").write_text("<story>{{ no_such_variable.x }}</story>")
    config = signed_book.config
    config.write_text(config.read_text(encoding="utf-8").replace(
        "  path: null ", f"  path: {tmp_path / 'tpl'} "), encoding="utf-8")
    out = tmp_path / "st"
    result, rows = run_statements(signed_book, out)
    assert result.exit_code == 1
    assert rows["C005"]["status"] == "failed"
    assert "zh_TW.xml.j2" in rows["C005"]["error"]
    assert rows["C001"]["status"] == "written"
    manifest = {r["customer"]: r for r in json.loads((out / "manifest.json").read_text())}
    assert manifest["C005"]["status"] == "failed"


def test_zero_customers_are_listed_as_skipped(signed_book, tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("id,name\nC099,Dormant Ltd\n")
    signed_book("import", "customers", str(path))
    out = tmp_path / "st"
    _result, rows = run_statements(signed_book, out)
    assert rows["C099"]["status"] == "skipped"
    assert "nothing open" in rows["C099"]["reason"]
    _result, rows = run_statements(signed_book, out, "--include-zero", "--customer", "C099")
    assert rows["C099"]["status"] == "written"


def test_statement_that_does_not_tie_out_is_refused_not_written(signed_book, tmp_path):
    from sqlalchemy import create_engine, text

    from arcli.store import store_url

    engine = create_engine(store_url(signed_book.db))
    with engine.begin() as conn:  # corrupt one stored open amount by one cent
        conn.execute(text("UPDATE documents SET open_minor = open_minor - 1 "
                          "WHERE number = 'INV-2026-0190'"))
    engine.dispose()
    out = tmp_path / "st"
    result, rows = run_statements(signed_book, out)
    assert result.exit_code == 1
    assert rows["C001"]["status"] == "failed" and "disagree" in rows["C001"]["error"]
    assert not (out / "statement-C001-2026-10.pdf").exists()
    assert rows["C002"]["status"] == "written"


def _page_images(pdf: Path, prefix: Path) -> list[bytes]:
    prefix.parent.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-r", "100", "-png", str(pdf), str(prefix)], check=True)
    return [p.read_bytes() for p in sorted(prefix.parent.glob(f"{prefix.name}*.png"))]


def _reference_table(rows, widths, look, repeat=0, last=None):
    """What :class:`arcli.render.grid.Grid` promises to draw, said with reportlab's own
    ``Table`` and ``TableStyle`` (the way the story's tables were built before Grid)."""
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    from arcli.render.palette import ACCENT, DISPUTED, INK, MUTED, RULE, ZEBRA

    commands = [("FONTSIZE", (0, 0), (-1, -1), look.size),
                ("LEADING", (0, 0), (-1, -1), look.size * 1.2),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 2.2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2.2),
                ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3)]
    commands += [("ALIGN", (c, 0), (c, -1), a) for c, a in enumerate(look.aligns)]
    for i, row in enumerate(rows):
        bold = row.header or "total" in row.klass
        color = MUTED if "muted" in row.klass else colors.white if row.header else INK
        commands += [("FONTNAME", (0, i), (-1, i), look.bold if bold else look.regular),
                     ("TEXTCOLOR", (0, i), (-1, i), color)]
        if row.header:
            commands.append(("BACKGROUND", (0, i), (-1, i), ACCENT))
        if "total" in row.klass:
            commands.append(("LINEABOVE", (0, i), (-1, i), 0.8, INK))
        elif "disputed" in row.klass:
            commands.append(("BACKGROUND", (0, i), (-1, i), DISPUTED))
        elif row.index % 2 == 0 and not row.header and look.zebra:
            commands.append(("BACKGROUND", (0, i), (-1, i), ZEBRA))
    commands.append(("LINEBELOW", (0, -1), (-1, -1), 0.5, RULE))
    return Table([list(r.cells) for r in rows], colWidths=widths, repeatRows=repeat,
                 style=TableStyle(commands), hAlign="LEFT")


_ODD_TABLE = """<table align="c,l,r" header="0" zebra="0">
<tr class="muted"><td>two
lines</td><td>left</td><td>1.00</td></tr>
<tr><td>centred</td><td>three
short
lines</td><td></td></tr>
<tr class="total disputed"><td></td><td>Total</td><td>1,234.56</td></tr>
</table>
</story>"""


@pytest.mark.parametrize("odd_table", [False, True], ids=["shipped", "odd-table"])
def test_tables_and_text_look_exactly_like_reportlabs(signed_book, tmp_path, monkeypatch,
                                                      odd_table):
    """The story's tables (render/grid) and paragraphs drawn as text blocks
    (render/paragraphs) land on the same pixels as reportlab's Table and Paragraph, on a
    statement whose tables run over several pages (split, header repeated, stripes and
    the closing rule where they belong) and, with a template override, on a table with
    multi-line and centred cells, widths from the content, no header and no stripes;
    this guards the drawing code across reportlab upgrades."""
    from reportlab.platypus import Paragraph

    import arcli.render.story
    from arcli.render.paragraphs import ReusedParagraph

    if odd_table:
        folder = tmp_path / "tpl" / "statement"
        folder.mkdir(parents=True)
        shipped = (ROOT / "templates" / "statement" / "en.xml.j2").read_text(encoding="utf-8")
        (folder / "en.xml.j2").write_text(shipped.replace("</story>", _ODD_TABLE),
                                          encoding="utf-8")
        config = signed_book.config
        config.write_text(config.read_text(encoding="utf-8").replace(
            "  path: null ", f"  path: {tmp_path / 'tpl'} "), encoding="utf-8")

    lines = ["type,number,customer,date,due_date,amount,currency,reference,description"]
    lines += [f"invoice,LONG-{n:03d},C003,2026-10-{1 + n % 28:02d},,{100 + n}.25,EUR,"
              f"PO-{n},Item {n}" for n in range(90)]
    extra = tmp_path / "long.csv"
    extra.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert signed_book("import", "ledger", str(extra)).exit_code == 0
    assert signed_book("dispute", "open", "LONG-007", "--reason", "wrong price").exit_code == 0
    fast, plain = tmp_path / "fast", tmp_path / "plain"
    run_statements(signed_book, fast, "--no-sign")
    monkeypatch.setattr(arcli.render.story, "Grid", _reference_table)
    monkeypatch.setattr(ReusedParagraph, "draw", Paragraph.draw)
    _result, rows = run_statements(signed_book, plain, "--no-sign")
    assert len(rows) >= 3 and rows["C003"]["pages"] >= 3
    for row in rows.values():
        name = row["file"]
        images = _page_images(fast / name, tmp_path / "png" / f"fast-{name}")
        assert images and images == _page_images(plain / name, tmp_path / "png" / f"plain-{name}")
        assert (fast / name).read_bytes() != (plain / name).read_bytes()  # other drawing code


def test_jobs_from_option_config_or_auto(example_book, tmp_path, monkeypatch):
    """--jobs N|auto, else render.jobs from the config, else 1; bad values exit 2."""
    import arcli.batch

    used = []
    real = arcli.batch.run_assembled

    def spy(assemble, chunks, options):
        used.append(options.jobs)
        return real(assemble, chunks, options)

    monkeypatch.setattr(arcli.batch, "run_assembled", spy)
    monkeypatch.setattr("os.cpu_count", lambda: 3)

    def statements(*extra):
        return example_book("statements", "--period", "2026-10", "--no-sign",
                            "--out", str(tmp_path / "st"), "--json", *extra)

    assert statements().exit_code == 0
    assert statements("--jobs", "auto").exit_code == 0
    config = tmp_path / "arcli.yaml"
    config.write_text("render:\n  jobs: 2\n", encoding="utf-8")
    example_book.config = config
    assert statements().exit_code == 0
    assert statements("--jobs", "1").exit_code == 0
    assert used == [1, 3, 2, 1]
    assert statements("--jobs", "0").exit_code == 2
    config.write_text("render:\n  jobs: many\n", encoding="utf-8")
    bad = statements()
    assert bad.exit_code == 2 and "line 2: render.jobs" in bad.stderr


def test_shards_finishing_together_into_one_folder_keep_each_others_manifest_rows(
        tmp_path, monkeypatch):
    """Two hosts' shards end at the same moment: the one that read the manifest first
    must not write over the rows the other has written meanwhile."""
    import threading
    import time

    from arcli import batch

    for name in ("a.pdf", "b.pdf"):
        (tmp_path / name).write_bytes(b"%PDF")
    real_read = batch.read_manifest
    first_has_read = threading.Event()

    def slow_read(out_dir):
        rows = real_read(out_dir)
        if threading.current_thread().name == "first":
            first_has_read.set()
            time.sleep(0.5)  # the other host writes meanwhile, unless it waits
        return rows

    monkeypatch.setattr(batch, "read_manifest", slow_read)

    def finish(customer: str, file: str) -> None:
        batch.write_manifest(tmp_path, [batch.JobResult(customer, "EUR", "statement",
                                                        "written", file)])

    first = threading.Thread(target=finish, args=("A", "a.pdf"), name="first")
    first.start()
    first_has_read.wait(5)
    finish("B", "b.pdf")
    first.join()
    rows = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert sorted(r["file"] for r in rows) == ["a.pdf", "b.pdf"]


def test_no_sign_does_not_need_the_keystore(signed_book, tmp_path):
    """A shared config names a keystore that only the signing host has: other hosts run
    --no-sign without it; asking to sign without it is still an error naming the key."""
    keystore = tmp_path / "keys" / "arcli-test.p12"
    keystore.rename(tmp_path / "elsewhere.p12")
    result, rows = run_statements(signed_book, tmp_path / "st", "--no-sign")
    assert result.exit_code == 0, result.output
    assert rows and not any(r["signed"] for r in rows.values())
    letters = signed_book("dunning", "run", "--no-sign", "--out", str(tmp_path / "l"))
    assert letters.exit_code == 0, letters.output
    refused = signed_book("statements", "--period", "2026-10", "--out", str(tmp_path / "s2"))
    assert refused.exit_code == 2 and "signing.pkcs12" in refused.stderr


def test_quick_page_compression_changes_bytes_not_content(example_book, tmp_path,
                                                          monkeypatch):
    """Page streams and the JSON copy are compressed at a faster zlib level than
    reportlab's (render/flate): every page's content and the attached JSON decode to what
    reportlab's own compression gives, the streams are still Flate-compressed, and the
    file stays within a few percent of the size."""
    from pypdf import PdfReader
    from reportlab.pdfbase import pdfdoc

    import arcli.render.document
    import arcli.render.embedding

    quick, default = tmp_path / "quick", tmp_path / "default"
    run_statements(example_book, quick, "--no-sign")
    monkeypatch.setattr(arcli.render.document, "compress_pages_quickly", lambda doc: None)
    monkeypatch.setattr(arcli.render.embedding, "QUICK_FLATE", pdfdoc.PDFZCompress)
    _result, rows = run_statements(example_book, default, "--no-sign")
    assert rows
    for row in rows.values():
        fast, slow = PdfReader(quick / row["file"]), PdfReader(default / row["file"])
        assert len(fast.pages) == len(slow.pages) == row["pages"]
        for fast_page, slow_page in zip(fast.pages, slow.pages, strict=True):
            stream = fast_page["/Contents"].get_object()
            assert stream["/Filter"] in ("/FlateDecode", ["/FlateDecode"])
            assert stream.get_data() == slow_page["/Contents"].get_object().get_data()
        assert fast.attachments == slow.attachments
        fast_size, slow_size = (folder.joinpath(row["file"]).stat().st_size
                                for folder in (quick, default))
        # other bytes, still compressed (page content stored plain adds ~40% to the file);
        # a one-page statement (with its slips) is small, so the few hundred bytes the
        # quick level costs weigh a little more than on the two pages statements had
        assert fast_size != slow_size and fast_size < slow_size * 1.08


def test_json_copy_writes_exactly_the_fields_of_every_dataclass():
    """The JSON copy hands a dataclass's ``__dict__`` straight to the encoder only when it
    holds exactly the fields, in order: an attribute cached on an instance after it was
    made, a slotted dataclass and a subclass with more fields are written field by field,
    as ``dataclasses.asdict`` orders them."""
    import dataclasses
    import datetime as dt

    from arcli.render.statement import attachment_json

    @dataclasses.dataclass(frozen=True)
    class Line:
        day: dt.date
        amount: Decimal
        note: str | None = None

    @dataclasses.dataclass(frozen=True, slots=True)
    class Slotted:
        amount: Decimal
        day: dt.date

    @dataclasses.dataclass(frozen=True)
    class Wider(Line):
        extra: int = 7

    cached = Line(dt.date(2026, 10, 31), Decimal("1.50"))
    object.__setattr__(cached, "_memo", "not a field")
    values = [cached, Slotted(Decimal("1E+2"), dt.date(2026, 1, 2)),
              Wider(dt.date(2026, 2, 3), Decimal("-0.10"), "x"), Path("/tmp/logo.png")]
    assert json.loads(attachment_json({"values": values})) == {"values": [
        {"day": "2026-10-31", "amount": "1.50", "note": None},
        {"amount": "100", "day": "2026-01-02"},
        {"day": "2026-02-03", "amount": "-0.10", "note": "x", "extra": 7},
        None]}
    assert list(json.loads(attachment_json(cached))) == ["day", "amount", "note"]
