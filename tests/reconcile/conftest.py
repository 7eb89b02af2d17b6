"""Fixtures of the reconciliation tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ROOT, Arcli


@pytest.fixture
def bank_book(example_book: Arcli, tmp_path: Path) -> Arcli:
    """The CLI on the example book, with a EUR 5.00 bank-charge tolerance."""
    config = tmp_path / "arcli.yaml"
    text = (ROOT / "config.example.yaml").read_text(encoding="utf-8")
    config.write_text(text.replace("  tolerance: {}  ", '  tolerance: {EUR: "5.00"}  '),
                      encoding="utf-8")
    example_book.config = config
    return example_book
