"""Deterministic split of customers across machines: ``--shard K/N``.

N cron hosts sharing one PostgreSQL book each take the customers whose stable hash falls
in their shard. SHA-256 of the id (never Python's randomised ``hash()``) keeps the split the
same on every machine and every run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from arcli.errors import UsageError


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based K
    count: int  # N

    def owns(self, customer_id: str) -> bool:
        digest = hashlib.sha256(customer_id.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index - 1


def parse_shard(text: str | None) -> Shard | None:
    """``K/N`` with 1 <= K <= N, or None when not given."""
    if not text:
        return None
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise UsageError(f"--shard must be K/N, e.g. 1/4, got {text!r}") from None
    if not 1 <= k <= n:
        raise UsageError(f"--shard {text}: K must be between 1 and N")
    return Shard(k, n)
