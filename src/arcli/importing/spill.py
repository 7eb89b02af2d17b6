"""Parsed rows of a big first load, kept by customer range on disk instead of in SQLite.

Into an empty book the staging table only hands the rows back in customer order for cash
application. Instead the parsing workers split their rows by customer range, the main
process appends each range's rows to a file of its own (pickled), and later each range is
read back and sorted in Python -- by a worker, one range at a time, so memory stays
bounded. Concatenating the sorted ranges gives exactly the order ``ORDER BY customer_id,
currency, line_no`` gives on SQLite (both compare code points), so documents get the same
ids either way.
"""

from __future__ import annotations

import bisect
import pickle
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path

#: Position of customer, currency and line number in a staged row.
_ORDER = itemgetter(2, 7, 11)


@dataclass(frozen=True)
class CustomerRanges:
    """Consecutive ranges of customer ids, about equally many customers in each."""

    bounds: tuple[str, ...]  # the first customer id of every range but the first

    @classmethod
    def of(cls, customer_ids: Iterable[str], ranges: int) -> CustomerRanges:
        ids = sorted(customer_ids)
        step = max(1, -(-len(ids) // ranges))
        return cls(tuple(ids[i] for i in range(step, len(ids), step)))

    @property
    def count(self) -> int:
        return len(self.bounds) + 1

    def split(self, rows: Iterable[tuple]) -> list[list[tuple]]:
        """Staged rows by range (the customer id is a row's third value)."""
        parts: list[list[tuple]] = [[] for _ in range(self.count)]
        bounds = self.bounds
        for row in rows:
            parts[bisect.bisect_right(bounds, row[2])].append(row)
        return parts


class Spill:
    """One append-only file per customer range in a temporary folder, removed on close."""

    def __init__(self, ranges: CustomerRanges):
        self.ranges = ranges
        self._dir = tempfile.TemporaryDirectory(prefix="arcli-load-")
        self.paths = tuple(Path(self._dir.name) / f"{i:03d}.pickle"
                           for i in range(ranges.count))
        self._files = [path.open("wb") for path in self.paths]

    def add(self, parts: list[list[tuple]]) -> None:
        for handle, rows in zip(self._files, parts, strict=True):
            if rows:
                pickle.dump(rows, handle, protocol=pickle.HIGHEST_PROTOCOL)

    def seal(self) -> None:
        """Finish writing (before the ranges are read, possibly by other processes)."""
        for handle in self._files:
            handle.close()

    def close(self) -> None:
        self.seal()
        self._dir.cleanup()

    def __enter__(self) -> Spill:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


def sorted_range(path: Path) -> list[tuple]:
    """One range's rows by customer, currency and line."""
    rows = []
    with path.open("rb") as handle:
        while True:
            try:
                rows.extend(pickle.load(handle))
            except EOFError:
                break
    rows.sort(key=_ORDER)
    return rows
