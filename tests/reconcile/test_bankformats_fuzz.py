"""Random bytes and random mutations of valid bank files, fed to every bank parser and to
``arcli reconcile bank --apply``: a file is read (and then keeps the invariants a receipt
needs) or refused with a clean error -- never an internal error, and a refused file leaves
the book exactly as it was.

Bounded (a couple of hundred examples each, with a deadline) so it runs with the suite;
the figures of a run are printed (``pytest -s``) and kept in the helper's report.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arcli import money
from arcli.errors import InputError
from arcli.importing.mapping import NATIVE
from arcli.reconcile.bankformats import (
    FORMATS,
    parse_camt053,
    parse_csv,
    parse_mt940,
    parse_ofx,
    read_statement,
)
from arcli.reconcile.bankformats.common import CREDIT
from tests.conftest import EXAMPLES
from tests.reconcile.test_bankformats import CORPUS, _tables

SEEDS = [p.read_bytes() for p in sorted(CORPUS.iterdir()) if p.suffix != ".json"] + \
    [p.read_bytes() for p in sorted((EXAMPLES / "bank").iterdir())]
PARSERS = {"camt053": parse_camt053, "mt940": parse_mt940, "ofx": parse_ofx,
           "csv": lambda path: parse_csv(path, NATIVE)}


@st.composite
def mutated(draw) -> bytes:
    """A valid bank file with one to four edits of the kinds damaged exports show: bytes
    lost, inserted or changed, lines dropped, doubled or swapped, the file cut short."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        edit = draw(st.sampled_from(["delete", "insert", "byte", "digit", "line", "double",
                                     "swap", "cut", "sign"]))
        lines = bytes(data).split(b"\n")
        pick = draw(st.integers(0, len(lines) - 1))
        if edit == "delete":
            del data[at:at + draw(st.integers(1, 40))]
        elif edit == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=20))
        elif edit == "byte":
            data[at] = draw(st.integers(0, 255))
        elif edit == "digit" and chr(data[at]).isdigit():
            data[at] = ord(str(draw(st.integers(0, 9))))
        elif edit == "sign":
            data[at:at] = b"-"
        elif edit == "line":
            del lines[pick]
            data = bytearray(b"\n".join(lines))
        elif edit == "double":
            lines.insert(pick, lines[pick])
            data = bytearray(b"\n".join(lines))
        elif edit == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[pick], lines[other] = lines[other], lines[pick]
            data = bytearray(b"\n".join(lines))
        elif edit == "cut":
            del data[at:]
    return bytes(data)


FILES = st.one_of(
    mutated(),
    st.binary(max_size=600),
    st.builds(lambda head, body: head + body,
              st.sampled_from([b":20:X\n:25:A\n:60F:C261105EUR0,\n", b"<?xml version='1.0'?>",
                               b"OFXHEADER:100\n\n<OFX>", b"{1:F01}{4:\n", b"\xef\xbb\xbf"]),
              st.binary(max_size=300)),
)


def _check_read(found) -> None:
    """What a read file promises the posting step."""
    refs = [tx.bank_ref for tx in found]
    assert len(refs) == len(set(refs))
    for tx in found:
        assert money.check_currency(tx.currency) == tx.currency
        assert tx.amount >= 0 and money.quantize(tx.amount, tx.currency) == tx.amount
        assert isinstance(tx.booking_date, dt.date)
        if tx.credit:
            assert tx.amount > 0 and tx.nature == CREDIT


def test_every_bank_parser_reads_or_refuses_random_and_damaged_files(tmp_path):
    figures: Counter = Counter()

    @settings(max_examples=200, deadline=dt.timedelta(seconds=3), database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(data=FILES)
    def one(data: bytes) -> None:
        path = tmp_path / "statement"
        path.write_bytes(data)
        figures["files"] += 1
        for fmt in (None, *FORMATS):
            try:
                _check_read(read_statement(path, fmt))
                figures["read"] += 1
            except InputError as exc:
                assert str(exc).strip()
                figures["refused"] += 1
        for parser in PARSERS.values():
            with contextlib.suppress(InputError):
                parser(path)

    one()
    print(f"\nbank parsers: {figures['files']} files, {figures['read']} reads, "
          f"{figures['refused']} refusals, 0 internal errors")
    assert figures["files"] >= 100 and figures["read"] and figures["refused"]


def test_reconcile_bank_reads_or_refuses_damaged_files_leaving_the_book_alone(bank_book):
    if not bank_book.is_sqlite:
        pytest.skip("the book is compared table by table on SQLite; the parsers are the subject")
    figures: Counter = Counter()
    path = Path(bank_book.cwd) / "statement"

    @settings(max_examples=200, deadline=dt.timedelta(seconds=20), database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(data=FILES)
    def one(data: bytes) -> None:
        path.write_bytes(data)
        before = _tables(bank_book.db)
        result = bank_book("reconcile", "bank", str(path), "--apply", "--json")
        figures["runs"] += 1
        assert "internal error" not in result.stderr and "Traceback" not in result.output
        if result.exit_code == 1:
            figures["refused"] += 1
            assert str(path) in result.stderr
            assert _tables(bank_book.db) == before
        else:
            assert result.exit_code in (0, 3), result.output
            figures["read"] += 1
            rows = json.loads(result.stdout)
            figures["posted"] += sum(r["status"] == "posted" for r in rows)

    one()
    print(f"\nreconcile bank --apply: {figures['runs']} files, {figures['read']} read "
          f"({figures['posted']} receipts posted), {figures['refused']} refused with the "
          f"book unchanged, 0 internal errors")
    assert figures["runs"] >= 100 and figures["refused"]
