"""`arcli send` against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import socket
import sys
import threading

import pytest
import yaml
from aiosmtpd.controller import Controller

from arcli.delivery.smtp import PermanentError, SmtpConfig, build_message, send_with_retries
from tests.conftest import ROOT, TODAY
from tests.killing import killed_when


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """Accepts everything (after ``fail_first`` 451 answers) and keeps the messages."""

    def __init__(self, fail_first: int = 0, reject: bool = False):
        self.messages: list = []
        self.fail_first, self.reject = fail_first, reject

    async def handle_DATA(self, server, session, envelope):
        if self.reject:
            return "550 mailbox unavailable"
        if self.fail_first:
            self.fail_first -= 1
            return "451 try again later"
        self.messages.append((envelope.rcpt_tos,
                              email.message_from_bytes(envelope.content,
                                                       policy=email.policy.default)))
        return "250 OK"


@pytest.fixture
def smtp_server():
    servers = []

    def start(handler: Recorder):
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        servers.append(controller)
        return port

    yield start
    for controller in servers:
        controller.stop()


def configure(book, tmp_path, port: int, security: str = "none") -> None:
    config = tmp_path / "arcli.yaml"
    data = yaml.safe_load((ROOT / "config.example.yaml").read_text(encoding="utf-8"))
    data["smtp"] = {"host": "127.0.0.1", "port": port, "security": security,
                    "from": "AR Team <ar@ect.example.cn>", "retries": 2,
                    "backoff_seconds": "0.01"}  # the example's smtp: replaced (no duplicate)
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
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


def test_starttls_is_required_by_default(tmp_path, smtp_server):
    port = smtp_server(Recorder())
    pdf = tmp_path / "x.pdf"
    pdf.write_bytes(b"%PDF-1.4 test")
    cfg = SmtpConfig(host="127.0.0.1", port=port, security="starttls", retries=0)
    message = build_message(cfg, recipient="a@example.com", subject="s", body="b",
                            attachment=pdf, sha256="0" * 64)
    with pytest.raises(PermanentError, match="STARTTLS"):
        send_with_retries(cfg, message, sleep=lambda _s: None)


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
