"""`arcli send` against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import email
import email.policy
import hashlib
import json
import os
import shutil
import socket
import sys
import threading
import time
from decimal import Decimal
from email.header import decode_header, make_header

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import ROOT, TODAY
from tests.killing import killed_when


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """Accepts everything (after ``fail_first`` 451 answers) and keeps the messages:
    ``(rcpt_tos, message)`` in ``messages``, ``(mail_from, rcpt_tos, raw bytes)`` in
    ``envelopes``."""

    def __init__(self, fail_first: int = 0, reject: bool = False):
        self.messages: list = []
        self.envelopes: list = []
        self.fail_first, self.reject = fail_first, reject

    async def handle_DATA(self, server, session, envelope):
        if self.reject:
            return "550 mailbox unavailable"
        if self.fail_first:
            self.fail_first -= 1
            return "451 try again later"
        self.envelopes.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
        self.messages.append((envelope.rcpt_tos,
                              email.message_from_bytes(envelope.content,
                                                       policy=email.policy.default)))
        return "250 OK"


@pytest.fixture
def smtp_server():
    """``start(handler, smtputf8=False)`` -> port of a real SMTP server on 127.0.0.1.
    Like most servers, it does not offer SMTPUTF8 unless asked to."""
    servers = []

    def start(handler: Recorder, smtputf8: bool = False):
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port,
                                enable_SMTPUTF8=smtputf8)
        controller.start()
        servers.append(controller)
        return port

    yield start
    for controller in servers:
        controller.stop()


def configure(book, tmp_path, port: int, security: str = "none", extra: str = "") -> None:
    """The example config (company email ar@ect.example.cn) with a local server."""
    config = tmp_path / "arcli.yaml"
    shutil.copy(ROOT / "config.example.yaml", config)
    text = config.read_text(encoding="utf-8")
    smtp = (f"smtp:\n  host: 127.0.0.1\n  port: {port}\n  security: {security}\n"
            f"  retries: 2\n  backoff_seconds: '0.01'\n{extra}")
    start = text.index("\nsmtp:\n") + 1
    end = text.index("\n\n", start) + 1
    config.write_text(text[:start] + smtp + text[end:], encoding="utf-8")
    book.config = config


def test_statements_are_emailed_once_with_exact_attachments(example_book, tmp_path,
                                                            smtp_server):
    handler = Recorder()
    configure(example_book, tmp_path, smtp_server(handler))
    out = tmp_path / "st"
    assert example_book("statements", "--period", "2026-10", "--out", str(out)).exit_code == 0
    result = example_book("send", str(out), "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {r["status"] for r in rows} == {"sent"}
    assert len(handler.messages) == len(rows) == 6
    by_recipient = {tos[0]: msg for tos, msg in handler.messages}
    msg = by_recipient["finance@huadong.example.cn"]
    assert "往来对账单" in msg["Subject"]
    attachment = next(msg.iter_attachments())
    assert attachment.get_content() == (out / "statement-C001-2026-10.pdf").read_bytes()
    again = json.loads(example_book("send", str(out), "--json").stdout)
    assert {r["status"] for r in again} == {"already-sent"}
    assert len(handler.messages) == 6


def test_transient_failure_is_retried(example_book, tmp_path, smtp_server):
    handler = Recorder(fail_first=1)
    configure(example_book, tmp_path, smtp_server(handler))
    out = tmp_path / "st"
    example_book("statements", "--period", "2026-10", "--out", str(out), "--customer", "C003")
    rows = json.loads(example_book("send", str(out), "--json").stdout)
    assert rows[0]["status"] == "sent" and rows[0]["attempts"] == 2
    assert len(handler.messages) == 1


def test_permanent_failure_is_reported_and_exit_1(example_book, tmp_path, smtp_server):
    configure(example_book, tmp_path, smtp_server(Recorder(reject=True)))
    out = tmp_path / "st"
    example_book("statements", "--period", "2026-10", "--out", str(out), "--customer", "C003")
    result = example_book("send", str(out), "--json")
    assert result.exit_code == 1
    row = json.loads(result.stdout)[0]
    assert row["status"] == "failed" and row["error"].startswith("550")
    assert row["attempts"] == 1  # a 5xx is not retried


def test_starttls_is_required_by_default(example_book, tmp_path, smtp_server):
    handler = Recorder()
    port = smtp_server(handler)
    configure(example_book, tmp_path, port, security="starttls")
    out = tmp_path / "st"
    example_book("statements", "--period", "2026-10", "--out", str(out))
    result = example_book("send", str(out), "--json")
    assert result.exit_code == 1
    assert f"SMTP server 127.0.0.1:{port} does not offer STARTTLS" in result.stderr
    assert handler.messages == []


def test_no_tls_refused_for_remote_hosts(example_book, tmp_path):
    config = tmp_path / "arcli.yaml"
    config.write_text("smtp:\n  host: mail.example.com\n  security: none\n")
    example_book.config = config
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "manifest.json").write_text("[]")
    result = example_book("send", str(tmp_path / "m"))
    assert result.exit_code == 2
    assert "only allowed for a localhost server" in result.stderr


class Stalling(Recorder):
    """Keeps the first message, then holds back its "250 OK": the mail server has taken
    the message, and the client that sent it dies before it hears so."""

    def __init__(self):
        super().__init__()
        self.kept_first = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        answer = await super().handle_DATA(server, session, envelope)
        if not self.kept_first.is_set():
            self.kept_first.set()
            await asyncio.sleep(300)  # cancelled when the client's connection drops
        return answer


def test_a_send_killed_mid_message_is_reported_interrupted_until_resent_on_purpose(
        example_book, tmp_path, smtp_server):
    """The run dies after claiming a document and handing its message to the server:
    nobody knows if it went out. Reruns report it as interrupted (exit 3) without sending
    it again; --resend-interrupted sends it again, the same message, and only then."""
    handler = Stalling()
    configure(example_book, tmp_path, smtp_server(handler))
    out = tmp_path / "st"
    example_book("statements", "--period", "2026-10", "--out", str(out), "--customer", "C003")
    env = {**os.environ, "ARCLI_TODAY": TODAY}
    killed_when(handler.kept_first.is_set,
                [sys.executable, "-m", "arcli", "--db", example_book.db, "--config",
                 str(example_book.config), "send", str(out)], env, tmp_path)
    assert len(handler.messages) == 1  # the server did take it

    rerun = example_book("send", str(out), "--json")
    assert rerun.exit_code == 3, rerun.output
    row = json.loads(rerun.stdout)[0]
    assert row["status"] == "interrupted" and "--resend-interrupted" in row["error"]
    assert "1 interrupted" in rerun.stderr
    assert len(handler.messages) == 1

    resent = example_book("send", str(out), "--json", "--resend-interrupted")
    assert resent.exit_code == 0, resent.output
    assert json.loads(resent.stdout)[0]["status"] == "sent"
    assert len(handler.messages) == 2
    first, second = (message for _, message in handler.messages)
    assert first["Message-ID"] == second["Message-ID"]
    again = example_book("send", str(out), "--json", "--resend-interrupted")
    assert again.exit_code == 0 and json.loads(again.stdout)[0]["status"] == "already-sent"
    assert len(handler.messages) == 2


# -- issue 23: every customer, whatever their name -----------------------------------------
def manifest_balances(out) -> dict[str, list[tuple[str, str]]]:
    """(currency, closing balance) per customer, from the manifest arcli wrote."""
    found: dict[str, list[tuple[str, str]]] = {}
    for row in json.loads((out / "manifest.json").read_text(encoding="utf-8")):
        found.setdefault(row["customer"], []).append((row["currency"],
                                                      row["closing_balance"]))
    return found


def grouped(amount: str) -> str:
    return f"{Decimal(amount):,.2f}"


def raw_header(raw: bytes, name: str) -> str:
    """A header as it travelled (folded lines joined), to check it is ASCII."""
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    return str(message[name])


def body_of(message) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def decoded(header: str) -> str:
    return str(make_header(decode_header(header)))


def test_chinese_german_and_english_names_reach_a_server_without_smtputf8(
        example_book, tmp_path, smtp_server):
    """Envelope: bare ASCII addresses; headers: names RFC 2047-encoded; the body greets
    the contact in the customer's language, with the period and the balance; copies to
    the shared mailbox and the salesperson; the attachment is the file on disk."""
    handler = Recorder()
    configure(example_book, tmp_path, smtp_server(handler), extra=(
        "  cc: [AR shared <ar-shared@ect.example.cn>]\n"
        "  salespeople: {王芳: wangfang@ect.example.cn, Tom Baker: tom@ect.example.cn}\n"))
    out = tmp_path / "st"
    assert example_book("statements", "--period", "2026-10", "--out", str(out)).exit_code == 0
    result = example_book("send", str(out), "--json")
    assert result.exit_code == 0, result.output
    assert {r["status"] for r in json.loads(result.stdout)} == {"sent"}
    assert len(handler.envelopes) == 6
    balances = manifest_balances(out)
    by_to = {rcpts[0]: (sender, rcpts, raw) for sender, rcpts, raw in handler.envelopes}
    cases = {  # customer: address, name, greeting, salesperson, subject words
        "C001": ("finance@huadong.example.cn", "上海华东电子有限公司", "李明 (财务部)：",
                 "wangfang@ect.example.cn", "往来对账单 2026-10"),
        "C006": ("buchhaltung@mueller.example.de", "Müller & Söhne <GmbH>",
                 "Dear Frau Müller,", "tom@ect.example.cn", "Statement of account 2026-10"),
        "C003": ("accounts@northwind.example.com", "Northwind Trading Ltd",
                 "Dear Sarah Jones,", "tom@ect.example.cn", "Statement of account 2026-10"),
    }
    for customer, (address, name, greeting, salesperson, words) in cases.items():
        sender, rcpts, raw = by_to[address]
        assert sender == "ar@ect.example.cn"  # company.email: no smtp.from configured
        assert rcpts == [address, "ar-shared@ect.example.cn", salesperson]
        headers = raw.split(b"\r\n\r\n", 1)[0]
        assert headers.isascii()  # names encoded, not raw UTF-8
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert message["To"].addresses[0].display_name == name
        assert message["To"].addresses[0].addr_spec == address
        assert message["From"].addresses[0].display_name == (  # company.by_language
            "华东贸易有限公司" if customer == "C001" else "East China Trading Co., Ltd.")
        assert [a.addr_spec for a in message["Cc"].addresses] == \
            ["ar-shared@ect.example.cn", salesperson]
        subject = message["Subject"]
        body = body_of(message)
        assert words in subject
        assert body.startswith(greeting)
        assert "=?" not in body and address not in body.splitlines()[0]
        for currency, amount in balances[customer]:
            assert f"{currency} {grouped(amount)}" in subject
            assert grouped(amount) in body
        attachment = next(message.iter_attachments())
        assert attachment.get_filename() == f"statement-{customer}-2026-10.pdf"
        assert attachment.get_content() == \
            (out / f"statement-{customer}-2026-10.pdf").read_bytes()


def test_letters_are_worded_in_chinese_and_english(example_book, tmp_path, smtp_server):
    """Each customer's language picks its template: Chinese for zh_CN, English for en;
    both carry the letter's date and amount due."""
    handler = Recorder()
    configure(example_book, tmp_path, smtp_server(handler))
    out = tmp_path / "letters"
    assert example_book("dunning", "run", "--out", str(out)).exit_code in (0, 3)
    result = example_book("send", str(out), "--json")
    assert result.exit_code == 0, result.output
    due = manifest_balances(out)
    by_to = {rcpts[0]: msg for rcpts, msg in handler.messages}
    chinese, english = by_to["finance@huadong.example.cn"], by_to["accounts@northwind.example.com"]
    [(cny, cny_due)], [(eur, eur_due)] = due["C001"], due["C003"]
    assert chinese["Subject"].endswith(f"付款提醒 2026年11月22日（应付 {cny} {grouped(cny_due)}）")
    assert body_of(chinese).startswith("李明 (财务部)：\n\n您好！")
    assert english["Subject"].startswith(
        f"Payment reminder of Nov 22, 2026: {eur} {grouped(eur_due)} due")
    assert body_of(english).startswith("Dear Sarah Jones,\n")


def set_customer(book, customer: str, **values) -> None:
    """Change a customer record directly, as an older import or a hand edit left it."""
    from sqlalchemy import update

    from arcli.store import open_store
    from arcli.store.schema import customers

    store = open_store(book.db)
    try:
        with store.begin() as conn:
            conn.execute(update(customers).where(customers.c.id == customer).values(**values))
    finally:
        store.dispose()


def test_control_characters_and_unusable_addresses_fail_their_document_alone(
        example_book, tmp_path, smtp_server):
    handler = Recorder()
    configure(example_book, tmp_path, smtp_server(handler))
    set_customer(example_book, "C001", name="上海华东\r\nBcc: leak@evil.example")
    set_customer(example_book, "C002", email="ar@nanfang.example.cn\nleak@evil.example")
    set_customer(example_book, "C004", email="财务@acme.example.com")  # needs SMTPUTF8
    set_customer(example_book, "C006", email="buchhaltung@müller.example.de; "
                                             "einkauf@straße.example.de")
    out = tmp_path / "st"
    example_book("statements", "--period", "2026-10", "--out", str(out))
    result = example_book("send", str(out), "--json")
    assert result.exit_code == 1
    assert "internal error" not in result.stderr
    rows = {r["customer"]: r for r in json.loads(result.stdout)}
    assert {c: r["status"] for c, r in rows.items()} == {
        "C001": "failed", "C002": "failed", "C003": "sent", "C004": "failed",
        "C005": "sent", "C006": "sent"}
    assert "name contains a control character (U+000D)" in rows["C001"]["error"]
    assert "email contains a control character (U+000A)" in rows["C002"]["error"]
    assert "needs SMTPUTF8" in rows["C004"]["error"]
    envelopes = [rcpts for _, rcpts, _ in handler.envelopes]
    assert ["buchhaltung@xn--mller-kva.example.de", "einkauf@xn--strae-oqa.example.de"] \
        in envelopes  # IDNA 2008: straße is not strasse
    assert not any("evil" in r for rcpts in envelopes for r in rcpts)
    assert len(handler.envelopes) == 3


def test_non_ascii_local_part_goes_out_where_smtputf8_is_offered(example_book, tmp_path,
                                                                   smtp_server):
    handler = Recorder()
    configure(example_book, tmp_path, smtp_server(handler, smtputf8=True))
    set_customer(example_book, "C001", email="财务@huadong.example.cn")
    out = tmp_path / "st"
    example_book("statements", "--period", "2026-10", "--out", str(out), "--customer", "C001")
    result = example_book("send", str(out), "--json")
    assert result.exit_code == 0, result.output
    assert handler.envelopes[0][1] == ["财务@huadong.example.cn"]


# -- what is retried, what stops the run ------------------------------------------------------
def test_no_server_listening_stops_the_run_at_once(example_book, tmp_path, smtp_server):
    port = free_port()  # nothing listens there
    configure(example_book, tmp_path, port)
    out = tmp_path / "st"
    example_book("statements", "--period", "2026-10", "--out", str(out))
    started = time.monotonic()
    result = example_book("send", str(out), "--json")
    assert time.monotonic() - started < 5
    assert result.exit_code == 1
    assert f"cannot connect to SMTP server 127.0.0.1:{port}" in result.stderr
    assert "Connection refused" in result.stderr and "Traceback" not in result.stderr
    assert "5 more document(s) not tried" in result.stderr
    [row] = json.loads(result.stdout)
    assert row["status"] == "failed" and row["attempts"] == 1
    # Nothing went out, so nothing is left claimed: once a server listens, all are sent.
    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=port, enable_SMTPUTF8=False)
    controller.start()
    try:
        again = example_book("send", str(out), "--json")
    finally:
        controller.stop()
    assert again.exit_code == 0, again.output
    assert len(handler.messages) == 6


class Dropping(Recorder):
    """Drops the first connection: at RCPT (``after_data=False``) the message was
    never handed over; after taking the message (``after_data=True``) it was."""

    def __init__(self, after_data: bool):
        super().__init__()
        self.after_data, self.dropped = after_data, False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if not self.after_data and not self.dropped:
            self.dropped = True
            server.transport.close()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        answer = await super().handle_DATA(server, session, envelope)
        if self.after_data and not self.dropped:
            self.dropped = True
            server.transport.close()
        return answer


def test_connection_dropped_before_the_message_is_retried(example_book, tmp_path,
                                                          smtp_server):
    handler = Dropping(after_data=False)
    configure(example_book, tmp_path, smtp_server(handler))
    out = tmp_path / "st"
    example_book("statements", "--period", "2026-10", "--out", str(out), "--customer", "C003")
    result = example_book("send", str(out), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["attempts"] == 2
    assert len(handler.messages) == 1


def test_connection_dropped_after_the_message_is_not_retried(example_book, tmp_path,
                                                             smtp_server):
    """The server may have kept it: sending again could send it twice."""
    handler = Dropping(after_data=True)
    configure(example_book, tmp_path, smtp_server(handler))
    out = tmp_path / "st"
    example_book("statements", "--period", "2026-10", "--out", str(out), "--customer", "C003")
    result = example_book("send", str(out), "--json")
    assert result.exit_code == 3, result.output
    row = json.loads(result.stdout)[0]
    assert row["status"] == "interrupted" and "--resend-interrupted" in row["error"]
    rerun = example_book("send", str(out), "--json")
    assert json.loads(rerun.stdout)[0]["status"] == "interrupted"
    assert len(handler.messages) == 1


class Slow(Recorder):
    """Answers the first RCPT after ``delay`` seconds."""

    def __init__(self, delay: float):
        super().__init__()
        self.delay = delay

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.delay:
            delay, self.delay = self.delay, 0
            await asyncio.sleep(delay)
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_timeout_is_retried(example_book, tmp_path, smtp_server):
    handler = Slow(delay=2.5)
    configure(example_book, tmp_path, smtp_server(handler), extra="  timeout: 1\n")
    out = tmp_path / "st"
    example_book("statements", "--period", "2026-10", "--out", str(out), "--customer", "C003")
    result = example_book("send", str(out), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["attempts"] == 2
    assert len(handler.messages) == 1


def test_a_refused_login_stops_the_run_at_once(example_book, tmp_path):
    from aiosmtpd.smtp import AuthResult

    tries = []

    def refuse(server, session, envelope, mechanism, auth_data):
        tries.append(mechanism)
        return AuthResult(success=False, handled=False)  # aiosmtpd answers 535

    handler, port = Recorder(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, enable_SMTPUTF8=False,
                            authenticator=refuse, auth_require_tls=False)
    controller.start()
    try:
        configure(example_book, tmp_path, port,
                  extra="  user: ar\n  password_env: ARCLI_TEST_SMTP_PASSWORD\n")
        out = tmp_path / "st"
        example_book("statements", "--period", "2026-10", "--out", str(out))
        result = example_book("send", str(out), "--json",
                              env={"ARCLI_TEST_SMTP_PASSWORD": "wrong"})
    finally:
        controller.stop()
    assert result.exit_code == 1
    assert f"SMTP server 127.0.0.1:{port} refused the login of 'ar': 535" in result.stderr
    # one login (smtplib tries each mechanism the server offers once), not retried
    assert sorted(tries) == ["LOGIN", "PLAIN"]
    assert len(json.loads(result.stdout)) == 1
    assert handler.messages == []


# -- issue 24: only the output folder's own files ---------------------------------------------
def test_files_outside_the_output_folder_are_refused(example_book, tmp_path, smtp_server):
    """A manifest row naming ../, an absolute path or a symlink out of the folder -- with
    the right hash -- fails with the reason; the folder's own documents go out."""
    handler = Recorder()
    configure(example_book, tmp_path, smtp_server(handler))
    out = tmp_path / "st"
    example_book("statements", "--period", "2026-10", "--out", str(out), "--customer", "C003")
    secret = tmp_path / "secret.pdf"
    secret.write_bytes(b"%PDF-1.4 not for customers")
    (out / "link.pdf").symlink_to(secret)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    digest = hashlib.sha256(secret.read_bytes()).hexdigest()
    for name in ("../secret.pdf", str(secret), "link.pdf"):
        manifest.append({**manifest[0], "file": name, "sha256": digest})
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    result = example_book("send", str(out), "--json")
    assert result.exit_code == 1
    rows = json.loads(result.stdout)
    assert [r["status"] for r in rows] == ["sent", "failed", "failed", "failed"]
    for row in rows[1:]:
        assert "is outside the output folder" in row["error"]
        assert str(secret) in row["error"]
    assert len(handler.messages) == 1
    attachment = next(handler.messages[0][1].iter_attachments())
    assert attachment.get_content() == (out / "statement-C003-2026-10.pdf").read_bytes()


def test_from_defaults_to_the_company_and_is_required_only_to_send(example_book, tmp_path,
                                                                    smtp_server):
    handler = Recorder()
    configure(example_book, tmp_path, smtp_server(handler))
    config = example_book.config
    config.write_text(config.read_text(encoding="utf-8").replace(
        "  email: ar@ect.example.cn\n", "  email: null\n"), encoding="utf-8")
    out = tmp_path / "st"
    example_book("statements", "--period", "2026-10", "--out", str(out), "--customer", "C003")
    assert example_book("send", str(out), "--dry-run").exit_code == 0
    result = example_book("send", str(out))
    assert result.exit_code == 2
    assert "smtp.from: no sender: set smtp.from or company.email" in result.stderr
    assert handler.messages == []


def test_a_document_sent_by_an_earlier_version_is_not_sent_again(example_book, tmp_path,
                                                                  smtp_server):
    """Earlier versions claimed a document for ``Name <address>`` as formataddr wrote
    it; a run after the upgrade finds that claim and sends nothing."""
    import datetime as dt
    from email.utils import formataddr

    from sqlalchemy import insert

    from arcli.store import open_store
    from arcli.store.schema import deliveries

    handler = Recorder()
    configure(example_book, tmp_path, smtp_server(handler))
    out = tmp_path / "st"
    example_book("statements", "--period", "2026-10", "--out", str(out), "--customer", "C003")
    [row] = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    store = open_store(example_book.db)
    try:
        with store.begin() as conn:
            conn.execute(insert(deliveries).values(
                document_sha256=row["sha256"], status="sent", attempts=1,
                recipient=formataddr(("Northwind Trading Ltd",
                                      "accounts@northwind.example.com")),
                customer_id="C003", kind="statement", file=row["file"],
                claimed_at=dt.datetime.now(dt.UTC), sent_at=dt.datetime.now(dt.UTC)))
    finally:
        store.dispose()
    result = example_book("send", str(out), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["status"] == "already-sent"
    assert handler.messages == []


class RejectingOne(Recorder):
    def __init__(self, address: str):
        super().__init__()
        self.address = address

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.address:
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_refused_copy_is_reported_and_the_message_not_sent_again(example_book, tmp_path,
                                                                   smtp_server):
    """The customer's address takes the message, the copy's does not: "partly-sent",
    exit 1, and the next run does not send it again. A copy address that is also the
    customer's is not sent twice."""
    handler = RejectingOne("gone@ect.example.cn")
    configure(example_book, tmp_path, smtp_server(handler), extra=(
        "  cc: [gone@ect.example.cn, Accounts@Northwind.example.com]\n"))
    out = tmp_path / "st"
    example_book("statements", "--period", "2026-10", "--out", str(out), "--customer", "C003")
    result = example_book("send", str(out), "--json")
    assert result.exit_code == 1
    row = json.loads(result.stdout)[0]
    assert row["status"] == "partly-sent"
    assert "gone@ect.example.cn (550 no such user)" in row["error"]
    assert [rcpts for _, rcpts, _ in handler.envelopes] == [["accounts@northwind.example.com"]]
    rerun = example_book("send", str(out), "--json")
    assert json.loads(rerun.stdout)[0]["status"] == "already-sent"
    assert len(handler.envelopes) == 1


# -- the company as the customer reads it; balances as the PDF words them -----------------------
def pdf_text(path) -> str:
    import subprocess

    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


def test_the_company_is_named_in_the_customers_language_as_in_the_pdf(example_book, tmp_path,
                                                                      smtp_server):
    """From name, subject and sign-off name the company as the attached PDF does
    (``company.by_language``): English for English customers, Chinese for Chinese ones,
    and zh_TW, which the example config does not word, as its PDF falls back."""
    handler = Recorder()
    configure(example_book, tmp_path, smtp_server(handler))
    out = tmp_path / "st"
    assert example_book("statements", "--period", "2026-10", "--out", str(out)).exit_code == 0
    assert example_book("send", str(out)).exit_code == 0
    by_to = {rcpts[0]: msg for rcpts, msg in handler.messages}
    cases = {  # customer: address, the company's name in the customer's language or None
        "C003": ("accounts@northwind.example.com", "East China Trading Co., Ltd."),
        "C001": ("finance@huadong.example.cn", "华东贸易有限公司"),
        "C005": ("acct@tpm.example.tw", None),  # as its PDF has it
    }
    for customer, (address, name) in cases.items():
        message = by_to[address]
        sender = message["From"].addresses[0]
        assert sender.addr_spec == "ar@ect.example.cn"
        if name:
            assert sender.display_name == name
        assert sender.display_name in pdf_text(out / f"statement-{customer}-2026-10.pdf")
        assert sender.display_name in message["Subject"]
        assert body_of(message).rstrip().splitlines()[-2] == sender.display_name
    english = by_to["accounts@northwind.example.com"]
    assert "华东" not in english["Subject"] and "华东" not in body_of(english)
    # C006's subject is just too long for the first header line: it was folded onto a
    # line of its own and read back with a leading space
    assert all(m["Subject"] == m["Subject"].strip() for m in by_to.values())


def test_an_explicit_smtp_from_is_kept_for_every_language(example_book, tmp_path,
                                                          smtp_server):
    handler = Recorder()
    configure(example_book, tmp_path, smtp_server(handler),
              extra="  from: Accounts Receivable <ar@ect.example.cn>\n")
    out = tmp_path / "st"
    example_book("statements", "--period", "2026-10", "--out", str(out))
    assert example_book("send", str(out)).exit_code == 0
    assert {m["From"].addresses[0].display_name for _, m in handler.messages} == \
        {"Accounts Receivable"}


def post(book, tmp_path, *lines: str) -> None:
    ledger = tmp_path / "more.csv"
    ledger.write_text("type,number,customer,date,due_date,amount,currency,reference,"
                      "description\n" + "".join(f"{line}\n" for line in lines),
                      encoding="utf-8")
    result = book("import", "ledger", str(ledger), "--csv")
    assert result.exit_code == 0, result.output


def test_credit_and_settled_balances_read_as_the_pdf_words_them(example_book, tmp_path,
                                                                smtp_server):
    """A credit is "in your favour" in the subject as in the body and the PDF, never a
    negative balance; a settled currency reads as settled, not "balance 0.00"."""
    handler = Recorder()
    configure(example_book, tmp_path, smtp_server(handler))
    post(example_book, tmp_path,
         "payment,PAY-T-1,C005,2026-10-31,,19150.75,USD,,settled",
         "payment,PAY-T-2,C003,2026-10-31,,25000.00,EUR,,settled")
    set_customer(example_book, "C002", language="zh_CN")
    out = tmp_path / "st"
    assert example_book("statements", "--period", "2026-10", "--out", str(out)).exit_code == 0
    assert example_book("send", str(out)).exit_code == 0
    by_to = {rcpts[0]: msg for rcpts, msg in handler.messages}
    credit = by_to["ap@acme.example.com"]  # C004, en: USD -800.00
    assert "Credit in your favour" in pdf_text(out / "statement-C004-2026-10.pdf")
    assert "USD 800.00 credit in your favour" in credit["Subject"]
    assert "-800" not in credit["Subject"] and "balance" not in credit["Subject"].lower()
    assert "Balance in your favour (USD): 800.00" in body_of(credit)
    settled = by_to["accounts@northwind.example.com"]  # C003, en: EUR 0.00
    assert "EUR settled" in settled["Subject"] and "0.00" not in settled["Subject"]
    assert "Balance due (EUR): 0.00 (settled)\n" in body_of(settled)
    taiwan = by_to["acct@tpm.example.tw"]  # C005, zh_TW: EUR 3,000.00 due, USD 0.00
    assert "（應付餘額 EUR 3,000.00，USD 已結清）" in taiwan["Subject"]
    assert "0.00" not in taiwan["Subject"].replace("3,000.00", "")
    lines = body_of(taiwan).splitlines()  # one line per currency
    assert "貴公司應付餘額（EUR）：3,000.00" in lines
    assert "貴公司應付餘額（USD）：0.00（已結清）" in lines

    set_customer(example_book, "C004", language="zh_CN")
    again = tmp_path / "st-zh"
    example_book("statements", "--period", "2026-10", "--out", str(again), "--customer",
                 "C004")
    assert example_book("send", str(again)).exit_code == 0
    chinese = handler.messages[-1][1]
    assert "贵司贷方余额" in pdf_text(again / "statement-C004-2026-10.pdf")
    assert "（贵司贷方余额 USD 800.00）" in chinese["Subject"]
    assert "-800" not in chinese["Subject"]


def test_names_are_read_back_exactly_by_modern_and_old_parsers(example_book, tmp_path,
                                                               smtp_server):
    """Encoded names were folded in mid-word ("…Trading C" / "o., Ltd."): the old
    ``decode_header`` joined them, ``policy.default`` read "Trading C o., Ltd."."""
    from email.utils import getaddresses

    mixed = "华东贸易有限公司 East China Trading Co., Ltd."
    handler = Recorder()
    configure(example_book, tmp_path, smtp_server(handler),
              extra=f"  from: '\"{mixed}\" <ar@ect.example.cn>'\n")
    long_name = "Northwind Trading Co., Ltd. 北风贸易有限公司 (Dublin Branch Office)"
    set_customer(example_book, "C003", name=long_name)
    out = tmp_path / "st"
    example_book("statements", "--period", "2026-10", "--out", str(out))
    assert example_book("send", str(out)).exit_code == 0
    names = {"finance@huadong.example.cn": "上海华东电子有限公司",
             "buchhaltung@mueller.example.de": "Müller & Söhne <GmbH>",
             "accounts@northwind.example.com": long_name}
    raws = {rcpts[0]: raw for _, rcpts, raw in handler.envelopes}
    for address, name in names.items():
        raw = raws[address]
        assert raw.split(b"\r\n\r\n", 1)[0].isascii()
        modern = email.message_from_bytes(raw, policy=email.policy.default)
        assert modern["From"].addresses[0].display_name == mixed
        assert modern["To"].addresses[0].display_name == name
        for header, expected in (("From", (mixed, "ar@ect.example.cn")),
                                 ("To", (name, address))):
            [(encoded, addr)] = getaddresses([raw_header(raw, header)])
            assert (decoded(encoded), addr) == expected  # the old API, name by name
        assert decoded(raw_header(raw, "From")).startswith(mixed)


# -- the manifest to give, and what the report calls an error --------------------------------
def test_the_csv_manifest_is_read_through_its_json_sibling(example_book, tmp_path,
                                                           smtp_server):
    handler = Recorder()
    configure(example_book, tmp_path, smtp_server(handler))
    out = tmp_path / "st"
    example_book("statements", "--period", "2026-10", "--out", str(out), "--customer", "C003")
    result = example_book("send", str(out / "manifest.csv"), "--json")
    assert result.exit_code == 0, result.output
    assert [r["status"] for r in json.loads(result.stdout)] == ["sent"]
    assert len(handler.messages) == 1

    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(out / "manifest.csv", alone / "manifest.csv")
    refused = example_book("send", str(alone / "manifest.csv"))
    assert refused.exit_code == 2
    assert "give the output folder or its manifest.json (manifest.csv is for people)" \
        in refused.stderr
    assert "Expecting value" not in refused.stderr

    edited = out / "manifest.csv"  # a person's edit is not silently overruled by the JSON
    edited.write_text(edited.read_text(encoding="utf-8").splitlines()[0] + "\n",
                      encoding="utf-8")
    changed = example_book("send", str(edited))
    assert changed.exit_code == 2
    assert "differs from" in changed.stderr and "manifest.json" in changed.stderr
    assert len(handler.messages) == 1


def test_already_sent_and_skipped_are_not_errors(example_book, tmp_path, smtp_server):
    handler = Recorder()
    configure(example_book, tmp_path, smtp_server(handler))
    set_customer(example_book, "C004", email="")
    out = tmp_path / "st"
    example_book("statements", "--period", "2026-10", "--out", str(out))
    first = {r["customer"]: r for r in json.loads(example_book("send", str(out),
                                                               "--json").stdout)}
    assert first["C004"]["status"] == "skipped" and first["C004"]["error"] == ""
    assert first["C004"]["reason"] == "customer has no email address"
    rerun = example_book("send", str(out), "--json")
    assert rerun.exit_code == 0
    rows = json.loads(rerun.stdout)
    sent = [r for r in rows if r["status"] == "already-sent"]
    assert len(sent) == 5
    for row in sent:
        assert row["error"] == "" and row["reason"].startswith("already sent 20")
