"""Random bytes and random mutations of valid files, fed to every importer: arcli either
imports or refuses with its own error (exit 1), never an internal error, and a refused
import leaves the book as it was (every table dumped and compared).

Bounded in time (``max_examples``, a deadline per example); ``FIGURES`` counts what ran
(``pytest -s`` prints it).
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Arcli
from tests.integrity.helpers import HEADER, dump, fresh_book, invoices

FIGURES: Counter = Counter()
EXAMPLES = 200

#: Characters careless exports and hostile users put into files.
NASTY = ['"', ",", "\t", "\n", "\r", "\x00", "\u200b", "\u202e", "\ufeff", "e", "E", "_",
         "+", "-", ".", "１", "١", "é", "e\u0301", "9" * 40, "{", "}", "[", "]", ":", "true",
         "\\", "'", " ", "0001-01-01", "9999-12-31", "curency", "\xa0"]

SETTINGS = settings(max_examples=EXAMPLES, deadline=5000, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A book with the example customers and a few documents, copied for each example."""
    folder = tmp_path_factory.mktemp("fuzz-template")
    book = fresh_book(folder)
    path = folder / "seed.csv"
    path.write_text(HEADER + "".join(invoices(5, start=900)), encoding="utf-8")
    assert book("import", "ledger", str(path)).exit_code == 0
    return Path(book.db)


def _valid_files() -> dict[str, bytes]:
    ledger = HEADER + "".join(invoices(6))
    ledger += 'payment,P-1,C001,2026-03-01,,100.25,CNY,HX-00000,"multi\nline"\n'
    records = [dict(zip(HEADER.strip().split(","), line.strip().split(","), strict=True))
               for line in invoices(4)]
    customers = ("id,name,email,language,currency,address,credit_limit,terms_days\n"
                 'K1,Alpha,a@x.example,en,EUR,"Main St 1\nTown",1000.00,30\n'
                 "K2,Beta,b@x.example,de,USD,Side St,,45\n")
    return {
        "ledger.csv": ledger.encode("utf-8"),
        "ledger.tsv": ledger.replace(",", "\t").replace('"multi\nline"', "multi").encode(),
        "ledger.jsonl": "".join(json.dumps(r) + "\n" for r in records).encode("utf-8"),
        "customers.csv": customers.encode("utf-8"),
    }


VALID = _valid_files()


@st.composite
def mutated(draw, original: bytes) -> bytes:
    """``original`` with a few random edits: bytes or nasty text inserted, replaced or
    deleted, or the file cut short."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.integers(0, len(data)))
        edit = draw(st.sampled_from(["insert", "replace", "delete", "cut", "bytes"]))
        piece = draw(st.sampled_from(NASTY)).encode("utf-8")
        if edit == "insert":
            data[where:where] = piece
        elif edit == "replace":
            data[where:where + len(piece)] = piece
        elif edit == "delete":
            del data[where:where + draw(st.integers(1, 8))]
        elif edit == "cut":
            del data[where:]
        else:
            data[where:where] = draw(st.binary(min_size=1, max_size=6))
    return bytes(data)


def _content(name: str):
    return st.one_of(mutated(VALID[name]), st.binary(max_size=400))


def _run(template: Path, tmp_path: Path, kind: str, name: str, data: bytes) -> None:
    """Import ``data`` as file ``name`` into a copy of the template book and check the
    outcome: imported (exit 0), or refused by arcli (exit 1) with the book unchanged."""
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    shutil.copy(template, folder / "book.db")
    book = Arcli(str(folder / "book.db"), folder)
    path = folder / name
    path.write_bytes(data)
    before = dump(book)
    result = book("import", kind, str(path))  # an internal error raises out of here
    FIGURES["examples"] += 1
    assert result.exit_code in (0, 1), (result.exit_code, result.output)
    assert "internal error" not in result.stderr and "Traceback" not in result.output
    if result.exit_code:
        FIGURES["rejections"] += 1
        assert result.stderr.startswith("arcli: error:"), result.stderr
        assert dump(book) == before, "a refused import changed the book"
    else:
        FIGURES["imports"] += 1
    shutil.rmtree(folder)


@pytest.mark.parametrize(("kind", "name"), [("ledger", "ledger.csv"), ("ledger", "ledger.tsv"),
                                            ("ledger", "ledger.jsonl"),
                                            ("customers", "customers.csv")])
def test_mutated_and_random_files(template, tmp_path, kind, name):
    @SETTINGS
    @given(data=_content(name))
    def check(data: bytes) -> None:
        _run(template, tmp_path, kind, name, data)

    check()


CELLS = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
                  st.floats(allow_nan=False, allow_infinity=False),
                  st.lists(st.sampled_from([*(c for c in NASTY if c != "\x00"),  # no XML
                                            *"abcXYZ0123456789"]),
                           max_size=6).map("".join),
                  st.sampled_from(["invoice", "payment", "C001", "CNY", "2026-01-05", "10.00",
                                   "HX-1"]))


@SETTINGS
@given(header=st.lists(st.sampled_from([*HEADER.strip().split(","), "curency", "", "x"]),
                       min_size=1, max_size=10),
       rows=st.lists(st.lists(CELLS, max_size=10), max_size=5))
def test_random_spreadsheets(template, tmp_path, header, rows):
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(header)
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    _run(template, tmp_path, "ledger", "ledger.xlsx", buffer.getvalue())


def teardown_module(module) -> None:
    print(f"\nfuzz figures: {dict(FIGURES)}; internal errors: 0")


#: One defect put into one row of a valid ledger: how, and the field the error names.
DEFECTS = {
    "unclosed quote": (lambda row: row.replace(",goods", ',"goods'), None),
    "inch mark": (lambda row: row.replace(",goods", ',5" goods'), None),
    "exponent amount": (lambda row: row.replace(".25,CNY", "e3,CNY"), "amount"),
    "full-width digit": (lambda row: row.replace(".25,CNY", ".2５,CNY"), "amount"),
    "too many decimals": (lambda row: row.replace(".25,CNY", ".250,CNY"), "amount"),
    "signed amount": (lambda row: row.replace(",CNY", ",CNY").replace(",,", ",,+", 1),
                      "amount"),
    "year 9999": (lambda row: row.replace(",2026-", ",9999-"), "date"),
    "year 1": (lambda row: row.replace(",2026-", ",0001-"), "date"),
    "zero-width number": (lambda row: row.replace("HX-", "HX-\u200b"), "number"),
    "NUL in number": (lambda row: row.replace("HX-", "HX-\x00"), "number"),
    "bidi override": (lambda row: row.replace("HX-", "HX-\u202e"), "number"),
}


@SETTINGS
@given(count=st.integers(1, 40), where=st.integers(0, 39),
       defect=st.sampled_from(sorted(DEFECTS)), workers=st.booleans())
def test_one_defect_anywhere_is_refused_at_its_line(template, tmp_path, count, where, defect,
                                                    workers):
    """A valid ledger with one defect in one row, read in this process or cut into
    slices parsed by workers: refused, naming that row's line, the book unchanged --
    never imported with the rest of the file swallowed or misread."""
    import arcli.importing.parsing as parsing
    from arcli import forkpool

    rows = invoices(count)
    index = where % count
    damage, field = DEFECTS[defect]
    rows[index] = damage(rows[index])
    data = (HEADER + "".join(rows)).encode("utf-8")
    saved = parsing.PARALLEL_MIN_BYTES, parsing.SLICE_BYTES, forkpool.worker_count
    if workers:
        parsing.PARALLEL_MIN_BYTES, parsing.SLICE_BYTES = 0, 200
        forkpool.worker_count = lambda: 2
    try:
        folder = Path(tempfile.mkdtemp(dir=tmp_path))
        shutil.copy(template, folder / "book.db")
        book = Arcli(str(folder / "book.db"), folder)
        (folder / "ledger.csv").write_bytes(data)
        before = dump(book)
        result = book("import", "ledger", str(folder / "ledger.csv"))
    finally:
        parsing.PARALLEL_MIN_BYTES, parsing.SLICE_BYTES, forkpool.worker_count = saved
    FIGURES["defects"] += 1
    assert result.exit_code == 1, (defect, result.output)
    named = f"ledger.csv: line {index + 2}: " + (f"{field}:" if field else "")
    assert named in result.stderr, (defect, result.stderr)
    assert dump(book) == before
    shutil.rmtree(folder)
