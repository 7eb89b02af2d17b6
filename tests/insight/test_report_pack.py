"""``arcli report pack``: the PDF read back and rendered to PNG, the HTML opened in a real
headless Chromium (DOM dumped, screenshot taken); every figure tied to the commands that
show it on their own."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from arcli.money import format_money

HEADER = "type,number,customer,date,due_date,amount,currency,reference,description\n"
HOSTILE = "<b>Bold</b> & Co <script>alert(1)</script>"


@pytest.fixture
def book(arcli, tmp_path):
    """Three customers, two currencies: a Chinese name, markup in a name, a customer over
    its limit and 90 days overdue (on hold); a collections target for 2026-10."""
    (tmp_path / "c.csv").write_text(
        "id,name,salesperson,credit_limit,currency\n"
        "K1,上海华东电子有限公司,王芳,5000.00,CNY\n"
        f'K2,"{HOSTILE}",Ann,100.00,EUR\n'
        "K3,Northwind Trading Ltd,Ann,,EUR\n", encoding="utf-8")
    (tmp_path / "l.csv").write_text(HEADER + (
        "invoice,A1,K1,2026-08-01,2026-08-31,12345.67,CNY,,\n"
        "invoice,A2,K1,2026-10-10,2026-11-09,1000.00,CNY,,\n"
        "payment,P1,K1,2026-10-20,,2345.67,CNY,A1,\n"
        "invoice,B1,K2,2026-05-01,2026-05-31,250.00,EUR,,\n"
        "invoice,C1,K3,2026-09-15,2026-10-15,800.00,EUR,,\n"
        "payment,C2,K3,2026-10-30,,1000.00,EUR,,\n"), encoding="utf-8")
    for kind, name in (("customers", "c.csv"), ("ledger", "l.csv")):
        result = arcli("import", kind, str(tmp_path / name), "--csv")
        assert result.exit_code == 0, result.output
    config = tmp_path / "arcli.yaml"
    config.write_text('collections:\n  targets:\n    "2026-10":\n      王芳:\n'
                      "        CNY: '5000.00'\n", encoding="utf-8")
    arcli.config = config
    return arcli


def _figures(book) -> dict:
    """What the individual commands say for 2026-10, formatted as the pack shows them."""
    aging = json.loads(book("aging", "--as-of", "2026-10-31", "--json", "--totals").stdout)
    provision = json.loads(book("provision", "--as-of", "2026-10-31", "--json",
                                "--totals").stdout)
    kpi = json.loads(book("kpi", "--period", "2026-10", "--json").stdout)
    totals = {r["currency"]: r for r in aging if r["customer"] == "TOTAL"}
    return {
        "aging_totals": [format_money(Decimal(t["total"]), c) for c, t in totals.items()],
        "provision": [format_money(Decimal(r["provision"]), r["currency"])
                      for r in provision if r["band"] == "TOTAL"],
        "change": [format_money(Decimal(r["change"]), r["currency"])
                   for r in provision if r["band"] == "TOTAL"],
        "dso": [r["dso"] for r in kpi if r["dso"]],
    }


def _pdftotext(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


@pytest.mark.parametrize(("lang", "heading"), [("en", "Receivables management pack"),
                                               ("zh", "应收账款管理月报")])
def test_pdf_pack_ties_out_and_renders(book, tmp_path, lang, heading):
    out = tmp_path / f"pack-{lang}.pdf"
    result = book("report", "pack", "--period", "2026-10", "--out", str(out), "--lang", lang)
    assert result.exit_code == 0, result.output
    text = _pdftotext(out)
    assert heading in text
    figures = _figures(book)
    for value in (*figures["aging_totals"], *figures["provision"], *figures["change"],
                  *figures["dso"]):
        assert value in text, value
    assert "上海华东电子有限公司" in text          # top debtor, in the embedded CJK font
    assert HOSTILE in text.replace("\n", " ") or "<b>Bold</b> & Co" in text  # verbatim
    assert "over credit limit" in text              # K2 on hold
    assert "5,000.00" in text                       # 王芳's target
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(out), str(tmp_path / f"p-{lang}")],
                   check=True)
    assert sorted(tmp_path.glob(f"p-{lang}-*.png"))


def _chromium() -> str:
    found = shutil.which("chromium")
    if not found:
        pytest.skip("no chromium (scripts/system-deps.sh installs it)")
    return found


def _headless(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    return subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *args],
        capture_output=True, text=True, timeout=120, check=False)


def test_html_pack_in_a_real_browser(book, tmp_path):
    out = tmp_path / "pack.html"
    result = book("report", "pack", "--period", "2026-10", "--out", str(out), "--lang", "zh")
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "<script" not in html and "src=" not in html and "href=" not in html
    dom = _headless(tmp_path, "--dump-dom", out.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "应收账款管理月报" in dom.stdout
    assert dom.stdout.count("<svg") == 2 + 2 + 2     # aging, trend and DSO per currency
    # the hostile name is text in the page, not markup
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; Co &lt;script&gt;" in dom.stdout
    assert "<b>Bold</b>" not in dom.stdout
    for value in (*_figures(book)["aging_totals"], *_figures(book)["provision"]):
        assert value in dom.stdout, value
    assert "Uncaught" not in dom.stderr and "CONSOLE" not in dom.stderr
    shot = tmp_path / "pack.png"
    taken = _headless(tmp_path, f"--screenshot={shot}", "--window-size=900,2000",
                      out.as_uri())
    assert taken.returncode == 0, taken.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_out_suffix_is_a_usage_error(book, tmp_path):
    result = book("report", "pack", "--period", "2026-10", "--out", str(tmp_path / "p.txt"))
    assert result.exit_code == 2
    assert "--out must end in .pdf or .html" in result.stderr
    assert not (tmp_path / "p.txt").exists()


@pytest.mark.parametrize("suffix", ["pdf", "html"])
def test_an_empty_book_gives_a_pack_that_says_so(arcli, tmp_path, suffix):
    out = tmp_path / f"empty.{suffix}"
    result = arcli("report", "pack", "--period", "2026-10", "--out", str(out))
    assert result.exit_code == 0, result.output
    text = _pdftotext(out) if suffix == "pdf" else out.read_text(encoding="utf-8")
    assert text.count("None.") == 7       # every section, the trend included


def test_long_names_and_amounts_stay_on_the_page(arcli, tmp_path):
    """A 70-character Chinese name and a 100-character Latin one, amounts of a trillion:
    every word of the PDF lies inside the page, and the names are wrapped, not cut."""
    long_zh = "深圳市南山区超长名称国际贸易与高端精密机械设备制造及进出口股份有限公司" * 2
    long_en = "Extraordinarily Long Company Name International Holdings Trading Group " * 2
    (tmp_path / "c.csv").write_text(
        f'id,name,credit_limit,currency\nL0,"{long_zh}",10.00,CNY\n'
        f'L1,"{long_en}",10.00,CNY\n', encoding="utf-8")
    (tmp_path / "l.csv").write_text(HEADER + (
        "invoice,N0,L0,2026-03-01,2026-04-01,987654321012.34,CNY,,\n"
        "invoice,N1,L1,2026-03-01,2026-04-01,987654321012.34,CNY,,\n"), encoding="utf-8")
    for kind, name in (("customers", "c.csv"), ("ledger", "l.csv")):
        assert arcli("import", kind, str(tmp_path / name), "--csv").exit_code == 0
    out = tmp_path / "long.pdf"
    assert arcli("report", "pack", "--period", "2026-10", "--out", str(out),
                 "--lang", "zh").exit_code == 0
    boxes = subprocess.run(["pdftotext", "-bbox", str(out), "-"], check=True,
                           capture_output=True, text=True).stdout
    page_width = float(re.search(r'<page width="([\d.]+)"', boxes).group(1))
    right_edges = [float(x) for x in re.findall(r'xMax="([\d.]+)"', boxes)]
    assert right_edges and max(right_edges) <= page_width - 30
    assert "…" not in boxes                # wrapped, never cut
    words = set(re.findall(r">([^<]+)</word>", boxes))
    assert set(long_en.split()) <= words


def test_html_dso_line_breaks_at_months_without_dso(book, tmp_path):
    """One point per month with a DSO (as `arcli kpi` gives them) and one line per run of
    two or more consecutive such months: a month without sales is a gap, not bridged."""
    out = tmp_path / "pack.html"
    assert book("report", "pack", "--period", "2026-10", "--out", str(out)).exit_code == 0
    html = out.read_text(encoding="utf-8")
    kpi = json.loads(book("kpi", "--period", "2026-10", "--months", "12", "--json").stdout)
    known = {(r["currency"], r["period"]) for r in kpi if r["dso"] is not None}
    months = [f"2025-{m:02d}" for m in (11, 12)] + [f"2026-{m:02d}" for m in range(1, 11)]
    runs = 0
    for currency in {r["currency"] for r in kpi}:
        length = 0
        for month in [*months, None]:
            if (currency, month) in known:
                length += 1
                continue
            runs += length >= 2
            length = 0
    assert html.count("<circle") == len(known) > 0
    assert html.count("<polyline") == runs
