"""Email addresses as SMTP and mail headers need them, checked before anything is sent.

The envelope (``MAIL FROM``/``RCPT TO``) carries the bare address, ASCII: a display name
there made every customer with a Chinese or accented name fail on servers without
SMTPUTF8. Headers carry the name, which the message's policy writes as an RFC 2047
encoded word. A non-ASCII domain is written as IDNA (``xn--``, IDNA 2008 with the UTS 46
mapping that mail programs use: the stdlib codec's IDNA 2003 turns ``straße.de`` into a
different domain, ``strasse.de``). A non-ASCII local part has no ASCII form: such an
address is marked as needing SMTPUTF8, which the server may not offer.

Names and addresses come from customer records that careless exports fill: a CR/LF or
other control character in one would forge header lines, so it is refused with a
reason naming the field -- the one document fails, the batch goes on.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import parseaddr

import idna

# Separators between several addresses in one customer email field.
_LIST_SEPARATORS = re.compile(r"[;,]")
# Characters an unquoted local part or a domain never holds (RFC 5322 specials, spaces).
_NOT_IN_ADDRESS = re.compile(r"[\s<>()\[\]\\,;:\"@]")


class AddressError(ValueError):
    """An address or name that cannot go into a message; the text says why."""


@dataclass(frozen=True)
class Mailbox:
    """One recipient or sender: display name, local part and domain (ASCII, IDNA)."""

    name: str
    local: str
    domain: str

    @property
    def envelope(self) -> str:
        """The bare address for ``MAIL FROM``/``RCPT TO``."""
        return f"{self.local}@{self.domain}"

    @property
    def needs_smtputf8(self) -> bool:
        return not self.local.isascii()

    def header(self) -> Address:
        """For a To/From/Cc header: the name is encoded when the message is written."""
        return Address(display_name=self.name, username=self.local, domain=self.domain)

    def __str__(self) -> str:  # as people read it (reports): quoted, never encoded
        return str(self.header())


def address_header(boxes: Sequence[Mailbox]) -> str:
    """The value of a From/To/Cc header, ASCII, one address a line.

    A non-ASCII name is one encoded word, whole. Folded into several, it read back
    differently: RFC 2047 drops the space between two encoded words (the old
    ``decode_header``), Python's ``policy.default`` parser keeps it, so a name split
    after "Trading C" came back as "Trading C o., Ltd." and one split at a space lost
    it or doubled it. The line grows past 78 characters for a long name, far below the
    998 that SMTP allows; ASCII names are quoted as RFC 5322 asks."""
    lines = []
    for box in boxes:
        if box.name.isascii():
            lines.append(str(box.header()))
        else:
            words = "\n ".join(f"=?utf-8?b?{base64.b64encode(part).decode('ascii')}?="
                               for part in _chunks(box.name))
            lines.append(f"{words} <{box.envelope}>")
    return ",\n ".join(lines)


def _chunks(name: str, size: int = 600) -> list[bytes]:
    """``name`` in UTF-8, cut between characters only when it is too long for one header
    line (an absurd name): legal, though parsers differ on the space between the parts."""
    parts, part = [], b""
    for char in name:
        encoded = char.encode("utf-8")
        if len(part) + len(encoded) > size:
            parts.append(part)
            part = b""
        part += encoded
    return [*parts, part]


def check_text(field: str, value: str | None) -> str:
    """``value`` stripped, or AddressError when it holds a control character."""
    text = (value or "").strip()
    for char in text:
        if unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            raise AddressError(f"{field} contains a control character (U+{ord(char):04X}); "
                               "correct it in the customer record")
    return text


def mailbox(address: str, name: str = "", field: str = "email",
            name_field: str = "name") -> Mailbox:
    """A bare address (``local@domain``) with a display name, checked and IDNA-encoded;
    errors name ``field`` or ``name_field``."""
    text = check_text(field, address)
    display = check_text(name_field, name)
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain or _NOT_IN_ADDRESS.search(local) \
            or _NOT_IN_ADDRESS.search(domain) or local.startswith(".") \
            or local.endswith(".") or ".." in local:
        raise AddressError(f"{field}: {text!r} is not an email address")
    try:
        ascii_domain = domain if domain.isascii() and "." in domain \
            else idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise AddressError(f"{field}: {text!r}: the domain is not valid ({exc})") from None
    if "." not in ascii_domain and ascii_domain != "localhost":
        raise AddressError(f"{field}: {text!r}: the domain has no dot")
    return Mailbox(display, local, ascii_domain.lower())


def parse_mailbox(text: str, field: str) -> Mailbox:
    """``Name <local@domain>`` or a bare address, as written in the config."""
    check_text(field, text)
    name, address = parseaddr(text)
    if not address:
        raise AddressError(f"{field}: {text!r} is not an email address")
    return mailbox(address, name, field, f"{field} (name)")


def mailbox_list(field_value: str, name: str, field: str = "email") -> list[Mailbox]:
    """The addresses of a customer's email field: one, or several separated by ``;``
    or ``,`` (each gets the customer's name); empty parts are ignored."""
    parts = [p.strip() for p in _LIST_SEPARATORS.split(field_value or "")]
    return [mailbox(part, name, field) for part in parts if part]
