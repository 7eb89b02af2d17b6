"""Plain data handed to the renderers, and what they hand back.

Renderers receive these objects only (no database handles), so rendering can run in
worker processes and be tested without a store.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SignatureBox:
    """Where the visible signature block was drawn: 0-based page index and PDF points."""

    page: int
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class RenderedPdf:
    """An unsigned, deterministic PDF and where a signature field belongs on it."""

    pdf: bytes
    pages: int
    signature_box: SignatureBox | None = None
