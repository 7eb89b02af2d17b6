"""A forced rerun withdraws the letters of its date that are no longer due: on a real book,
with the manifest, the history, escalation and a real SMTP server checked."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.delivery.test_send import Recorder, configure, smtp_server  # noqa: F401

DAY = "2026-11-22"
HEADER = "type,number,customer,date,due_date,amount,currency,reference,description\n"


@pytest.fixture
def book(example_book, tmp_path, smtp_server):  # noqa: F811
    """The example book, its config sending to a local SMTP server (``book.mail``)."""
    example_book.mail = Recorder()
    configure(example_book, tmp_path, smtp_server(example_book.mail))
    return example_book


def run(book, day: str, *extra: str) -> dict:
    result = book("dunning", "run", "--as-of", day, "--out", str(letters(book)), "--json",
                  *extra)
    assert result.exit_code == 0, result.output
    return {(r["customer"], r["currency"]): r for r in json.loads(result.stdout)}


def letters(book) -> Path:
    return book.cwd / "letters"


def import_ledger(book, tmp_path: Path, *lines: str) -> None:
    path = tmp_path / f"ledger-{len(list(tmp_path.glob('ledger-*')))}.csv"
    path.write_text(HEADER + "".join(line + "\n" for line in lines), encoding="utf-8")
    result = book("import", "ledger", str(path))
    assert result.exit_code == 0, result.output


def pay_c005_in_full(book, tmp_path: Path) -> None:
    """C005 owes USD 9,800.00 + 14,350.75 - 5,000.00 = 19,150.75 (examples/ledger.csv)."""
    import_ledger(book, tmp_path, f"payment,PAY-C005-FULL,C005,{DAY},,19150.75,USD,,")


def manifest(book) -> dict:
    with open(letters(book) / "manifest.csv", encoding="utf-8", newline="") as handle:
        return {(r["customer"], r["currency"]): r for r in csv.DictReader(handle)}


def history(book, customer: str) -> list[dict]:
    result = book("dunning", "history", "--customer", customer, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_paid_customers_letter_is_withdrawn_not_sent_and_not_escalated_from(book, tmp_path):
    first = run(book, DAY)
    assert first[("C005", "USD")]["status"] == "written"
    assert first[("C005", "USD")]["total_due"] == "19150.75"
    name = first[("C005", "USD")]["file"]
    pay_c005_in_full(book, tmp_path)

    forced = run(book, DAY, "--force")
    row = forced[("C005", "USD")]
    assert row["status"] == "withdrawn", row
    assert "nothing overdue" in row["reason"]
    assert row["file"] == f"withdrawn/{name}"
    assert not (letters(book) / name).exists()
    assert (letters(book) / "withdrawn" / name).is_file()  # kept as it was recorded
    # the others are made again as they were
    assert {k for k, v in forced.items() if v["status"] == "written"} == \
        {k for k, v in first.items() if v["status"] == "written"} - {("C005", "USD")}

    listed = manifest(book)[("C005", "USD")]
    assert listed["status"] == "withdrawn" and "nothing overdue" in listed["reason"]
    assert [h["status"] for h in history(book, "C005")] == ["withdrawn"]
    assert "nothing overdue" in history(book, "C005")[0]["withdrawn_reason"]

    sent = book("send", str(letters(book)), "--json")
    assert sent.exit_code == 0, sent.output
    by_customer = {r["customer"]: r for r in json.loads(sent.stdout)}
    assert by_customer["C005"]["status"] == "withdrawn"
    assert by_customer["C001"]["status"] == "sent"
    mailed = [msg for _, msg in book.mail.messages]
    assert mailed and all("tpm.example.tw" not in msg["To"] for msg in mailed)
    assert all(next(msg.iter_attachments()).get_filename() != name for msg in mailed)

    # Next day, C005 owes an old invoice again: its first letter, not one step up from
    # the withdrawn one (which would have waited 14 days for level 2).
    import_ledger(book, tmp_path, "invoice,INV-C005-LATE,C005,2026-08-01,2026-08-31,700.00,USD,,")
    later = run(book, "2026-11-23")[("C005", "USD")]
    assert (later["status"], later["level"]) == ("written", 1), later
    assert DAY not in later["reason"]


def test_a_forced_run_for_one_customer_leaves_the_others_letters_alone(book, tmp_path):
    first = run(book, DAY)
    name = first[("C005", "USD")]["file"]
    pay_c005_in_full(book, tmp_path)
    forced = run(book, DAY, "--force", "--customer", "C001")
    assert set(forced) == {("C001", "CNY")}
    assert (letters(book) / name).is_file()
    assert manifest(book)[("C005", "USD")]["status"] == "written"
    assert [h["status"] for h in history(book, "C005")] == ["issued"]
    # the same in a shard that does not hold C005
    shard = next(s for s in ("1/2", "2/2")
                 if ("C005", "USD") not in run(book, DAY, "--force", "--shard", s))
    assert shard and (letters(book) / name).is_file()
    assert [h["status"] for h in history(book, "C005")] == ["issued"]


def test_a_letter_already_sent_cannot_be_withdrawn(book, tmp_path):
    name = run(book, DAY)[("C005", "USD")]["file"]
    assert book("send", str(letters(book))).exit_code == 0
    pay_c005_in_full(book, tmp_path)
    row = run(book, DAY, "--force")[("C005", "USD")]
    assert row["status"] == "already-sent"
    assert "already sent on " in row["reason"] and "cannot be withdrawn" in row["reason"]
    assert (letters(book) / name).is_file()
    assert [h["status"] for h in history(book, "C005")] == ["issued"]


def test_an_old_manifest_does_not_send_a_withdrawn_letter(book, tmp_path):
    """A manifest copied before the withdrawal: the book's record stops the letter."""
    name = run(book, DAY)[("C005", "USD")]["file"]
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / name).write_bytes((letters(book) / name).read_bytes())
    rows = json.loads((letters(book) / "manifest.json").read_text(encoding="utf-8"))
    (copy / "manifest.json").write_text(json.dumps([r for r in rows if r["file"] == name]),
                                        encoding="utf-8")
    pay_c005_in_full(book, tmp_path)
    run(book, DAY, "--force")
    sent = book("send", str(copy), "--json")
    assert sent.exit_code == 0, sent.output
    assert [r["status"] for r in json.loads(sent.stdout)] == ["withdrawn"]
    assert book.mail.messages == []




def test_a_letter_held_up_since_is_withdrawn_with_the_reason(book):
    """Not only a payment: a block (as a dispute, a promise, ...) withdraws the letter,
    with the run's reason for holding it, and the customer is listed once."""
    name = run(book, DAY)[("C005", "USD")]["file"]
    assert book("dunning", "block", "C005", "--until", "2026-12-31",
                "--reason", "CFO call").exit_code == 0
    result = book("dunning", "run", "--as-of", DAY, "--out", str(letters(book)), "--json",
                  "--force")
    assert result.exit_code == 0, result.output
    rows = [r for r in json.loads(result.stdout) if r["customer"] == "C005"]
    assert [(r["currency"], r["status"]) for r in rows] == [("USD", "withdrawn")]
    assert "blocked: CFO call" in rows[0]["reason"]
    assert not (letters(book) / name).exists()
    assert manifest(book)[("C005", "USD")]["status"] == "withdrawn"
    assert history(book, "C005")[0]["withdrawn_reason"].startswith("blocked: CFO call")
