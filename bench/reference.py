"""The issue's reference workloads, measured again now, beside the figures it quotes.

Issue 6 sets arcli's targets next to reference figures "measured on a 2-core machine of
this project's kind": plain ``csv`` + ``sqlite3`` loading of the 1M ledger (5.0 s), a
GROUP BY aging query on that raw table (2.8 s), reportlab rendering a one-page statement
with a 30-row table (~180 /s Latin, ~115 /s with an embedded CJK subset) and pyHanko's
``sign_pdf`` with default settings (~100 ms). This VM's speed moves by a fifth from hour to
hour, so a single arcli figure near a target says little on its own. Run this script in
the same hour as a benchmark: the ratio of each workload's time now to the quoted one
says how fast the machine is running, and the workloads closest to each arcli
command (Python + SQLite for the import, reportlab for statements) say it best.

    python bench/reference.py                       # generates the 1M ledger first
    python bench/reference.py --ledger /tmp/b/data/ledger.csv --rounds 3
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate

CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
AS_OF = "2026-11-01"

#: Every figure as the issue quotes it: (workload, value, unit).
QUOTED = {"csv+sqlite3 load": (5.0, "s"), "aging GROUP BY": (2.8, "s"),
          "reportlab Latin": (180.0, "/s"), "reportlab CJK": (115.0, "/s"),
          "pyHanko sign_pdf": (100.0, "ms")}


def load_ledger(ledger: Path, db: Path) -> float:
    """Seconds to load the ledger with ``csv`` and one ``executemany`` transaction into
    a table with a primary key (a row id) and an index (the customer, which aging groups
    by). The rows go in as the file has them: no validation, no cash application."""
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE documents (id INTEGER PRIMARY KEY, type TEXT, number TEXT, "
                 "customer TEXT, date TEXT, due_date TEXT, amount NUMERIC, currency TEXT, "
                 "reference TEXT, description TEXT)")
    conn.execute("CREATE INDEX ix_customer ON documents (customer)")
    conn.commit()
    start = time.perf_counter()
    with ledger.open(newline="", encoding="utf-8") as handle:
        rows = csv.reader(handle)
        next(rows)
        with conn:
            conn.executemany("INSERT INTO documents VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             rows)
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


AGING_SQL = """
SELECT customer, currency,
  SUM(CASE WHEN age <= 0 THEN signed ELSE 0 END) AS current,
  SUM(CASE WHEN age BETWEEN 1 AND 30 THEN signed ELSE 0 END) AS d1_30,
  SUM(CASE WHEN age BETWEEN 31 AND 60 THEN signed ELSE 0 END) AS d31_60,
  SUM(CASE WHEN age BETWEEN 61 AND 90 THEN signed ELSE 0 END) AS d61_90,
  SUM(CASE WHEN age > 90 THEN signed ELSE 0 END) AS over_90,
  SUM(signed) AS balance
FROM (SELECT customer, currency,
             CAST(julianday(?) - julianday(date) AS INTEGER) - 30 AS age,
             CASE WHEN type = 'invoice' THEN amount ELSE -amount END AS signed
      FROM documents)
GROUP BY customer, currency ORDER BY customer, currency
"""


def aging_query(db: Path) -> float:
    """Seconds for a GROUP BY aging query with CASE buckets over the raw table."""
    conn = sqlite3.connect(db)
    start = time.perf_counter()
    rows = conn.execute(AGING_SQL, (AS_OF,)).fetchall()
    elapsed = time.perf_counter() - start
    conn.close()
    if not rows:
        raise SystemExit("the aging query returned no rows")
    return elapsed


def statement_story(font: str, bold: str, cjk: bool) -> list:
    """A one-page statement: letterhead, address, a 30-row table, a closing line."""
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=12)
    title = ParagraphStyle("title", fontName=bold, fontSize=16, leading=20)
    company = "Bench Co 基准有限公司" if cjk else "Bench Co Ltd"
    rows = [["Date", "Type", "Number", "Reference", "Debit", "Credit", "Balance"]]
    balance = 0
    for n in range(30):
        cents = 1_234_567 + n * 9_731
        balance += cents
        rows.append([f"2026-10-{n % 28 + 1:02d}", "发票" if cjk else "Invoice",
                     f"INV{n:08d}", f"PO-{n}", f"{cents / 100:,.2f}", "",
                     f"{balance / 100:,.2f}"])
    table = Table(rows, repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), font, 8), ("FONT", (0, 0), (-1, 0), bold, 8),
        ("ALIGN", (4, 0), (-1, -1), "RIGHT"),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1f3a5f")),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f2f4f7")]),
        ("LINEBELOW", (0, -1), (-1, -1), 0.5, colors.grey)]))
    return [Paragraph(company, title), Spacer(1, 6),
            Paragraph("Customer 42 Ltd<br/>42 Market Street<br/>City 7", body), Spacer(1, 12),
            Paragraph("Statement of account, 2026-10", title), Spacer(1, 6), table,
            Spacer(1, 12), Paragraph("Please check and return the confirmation slip.", body)]


def render_rate(cjk: bool, count: int) -> tuple[float, list[bytes]]:
    """Documents per second rendering the one-page statement with reportlab's platypus."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import SimpleDocTemplate

    font, bold = "Helvetica", "Helvetica-Bold"
    if cjk:
        if not CJK_FONT.is_file():
            raise SystemExit(f"{CJK_FONT} is missing (Debian: fonts-wqy-microhei)")
        pdfmetrics.registerFont(TTFont("WQY", str(CJK_FONT), subfontIndex=0))
        font = bold = "WQY"
    pdfs = []
    start = time.perf_counter()
    for _ in range(count):
        out = io.BytesIO()
        SimpleDocTemplate(out, pagesize=A4).build(statement_story(font, bold, cjk))
        pdfs.append(out.getvalue())
    return count / (time.perf_counter() - start), pdfs


def signing_ms(pdfs: list[bytes], work: Path) -> float:
    """Milliseconds per document for pyHanko's ``sign_pdf`` with default settings."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    from arcli.signing import create_test_certificate

    key, _ = create_test_certificate(work / "bench.p12", password=b"bench",
                                     common_name="Bench", organization="Bench Co")
    signer = signers.SimpleSigner.load_pkcs12(str(key), passphrase=b"bench")
    meta = signers.PdfSignatureMetadata(field_name="Signature")
    start = time.perf_counter()
    for pdf in pdfs:
        signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=signer)
    return (time.perf_counter() - start) * 1000 / len(pdfs)


def measure(ledger: Path, work: Path, documents: int) -> dict[str, float]:
    """One round of every workload: {workload: value in its quoted unit}."""
    db = work / "raw.db"
    db.unlink(missing_ok=True)
    os.sync()
    found = {"csv+sqlite3 load": load_ledger(ledger, db), "aging GROUP BY": aging_query(db)}
    found["reportlab Latin"], _ = render_rate(False, documents)
    found["reportlab CJK"], pdfs = render_rate(True, documents)
    found["pyHanko sign_pdf"] = signing_ms(pdfs[:30], work)
    return found


def slowdown(workload: str, value: float) -> float:
    """How much slower than the quoted figure (1.10 = this machine takes 10% longer)."""
    quoted, unit = QUOTED[workload]
    return quoted / value if unit == "/s" else value / quoted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ledger", type=Path, help="a ledger CSV from generate.py "
                        "(default: generate the issue's 1M documents / 10k customers)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--documents", type=int, default=300,
                        help="statements rendered per font (default 300)")
    args = parser.parse_args()
    print("round,workload,quoted,unit,now,slowdown")
    with tempfile.TemporaryDirectory(prefix="arcli-reference-") as tmp:
        work = Path(tmp)
        ledger = args.ledger or generate(work / "data", 1_000_000, 10_000)[1]
        for round_no in range(1, args.rounds + 1):
            for workload, value in measure(ledger, work, args.documents).items():
                quoted, unit = QUOTED[workload]
                print(f"{round_no},{workload},{quoted:g},{unit},{value:.2f},"
                      f"{slowdown(workload, value):.2f}", flush=True)


if __name__ == "__main__":
    main()
