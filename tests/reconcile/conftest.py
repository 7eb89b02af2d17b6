"""Fixtures of the reconciliation tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT, Arcli


@pytest.fixture
def bank_book(arcli: Arcli, tmp_path: Path) -> Arcli:
    """The CLI on the example book, with a EUR 5.00 bank-charge tolerance."""
    for kind, name in (("customers", "customers.csv"), ("ledger", "ledger.csv")):
        assert arcli("import", kind, str(EXAMPLES / name), "--csv").exit_code == 0
    config = tmp_path / "arcli.yaml"
    text = (ROOT / "config.example.yaml").read_text(encoding="utf-8")
    config.write_text(text.replace("  tolerance: {}  ", '  tolerance: {EUR: "5.00"}  '),
                      encoding="utf-8")
    arcli.config = config
    return arcli
