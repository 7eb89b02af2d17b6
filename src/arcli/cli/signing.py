"""``arcli signing init``: a self-signed test certificate to try signed PDFs out."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import click

from arcli.cli.common import AppContext, pass_app

PASSWORD_ENV = "ARCLI_SIGNING_PASSWORD"


@click.group("signing")
def signing() -> None:
    """Signing keys for PAdES-signed statements and letters."""


@signing.command("init")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="signing",
              show_default=True, help="Folder for the key files.")
@click.option("--cn", "common_name", default=None, help="Certificate common name.")
@click.option("--days", type=click.IntRange(1, 3650), default=730, show_default=True)
@click.option("--force", is_flag=True, help="Replace an existing test certificate.")
@pass_app
def signing_init(app: AppContext, out_dir: str, common_name: str | None, days: int,
                 force: bool) -> None:
    """Create a self-signed test certificate (PKCS#12) for trying signatures out.

    The password comes from $ARCLI_SIGNING_PASSWORD, or is generated and written to a
    0600 file beside the key. Prints the `signing:` config to add. Not for production:
    use a certificate from your CA there.
    """
    from arcli.fileio import atomic_write
    from arcli.signing import create_test_certificate
    from arcli.statements import company_from_config

    folder = Path(out_dir)
    p12 = folder / "arcli-test.p12"
    if p12.exists() and not force:
        raise click.UsageError(f"{p12} exists (use --force to replace it)")
    folder.mkdir(parents=True, exist_ok=True)
    password = os.environ.get(PASSWORD_ENV)
    password_file = None
    if not password:
        password = secrets.token_urlsafe(24)
        password_file = folder / "arcli-test.password"
        atomic_write(password_file, password + "\n", mode=0o600)  # never readable by others
    organization = company_from_config(app.config).name
    _, pem = create_test_certificate(p12, password=password.encode(),
                                     common_name=common_name or f"{organization} (test)",
                                     organization=organization, days=days)
    secret_line = (f"  password_file: {password_file}" if password_file
                   else f"  password_env: {PASSWORD_ENV}")
    app.info(f"wrote {p12} and {pem} (trust root for `arcli verify --trust {pem}`)")
    click.echo(f"signing:\n  pkcs12: {p12}\n{secret_line}\n")
