"""Parsed rows of a big first load, kept by customer range on disk instead of in SQLite.

Into an empty book the staging table only hands the rows back in customer order for cash
application. Instead each parsing worker splits the rows of its slice by customer range
and writes them to a file of its own, one pickle per range (:meth:`Spill.write`); the main
process only notes where each range's pieces are. Later each range's pieces are read back
and sorted in Python -- by a worker, one range at a time, so memory stays bounded.
Concatenating the sorted ranges gives exactly the order ``ORDER BY customer_id, currency,
line_no`` gives on SQLite (both compare code points), so documents get the same ids
either way.
"""

from __future__ import annotations

import bisect
import os
import pickle
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path

#: Position of customer, currency and line number in a staged row.
_ORDER = itemgetter(2, 7, 11)

#: Where one range's rows are: (file, byte offset of their pickle) per parsed slice.
Pieces = tuple[tuple[Path, int], ...]


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


@dataclass(frozen=True)
class SpilledSlice:
    """One parsed slice on disk: its file and where each range's pickle starts (or None)."""

    path: Path
    offsets: tuple[int | None, ...]


class Spill:
    """Spilled slices in a temporary folder, removed on close.

    Parsing workers inherit the object (fork) and call :meth:`write`; the main process
    hands what they return to :meth:`add`, so it never touches the rows themselves.
    """

    def __init__(self, ranges: CustomerRanges):
        self.ranges = ranges
        self._dir = tempfile.TemporaryDirectory(prefix="arcli-load-")
        self._pieces: list[list[tuple[Path, int]]] = [[] for _ in range(ranges.count)]

    def write(self, rows: list[tuple]) -> SpilledSlice:
        """Split ``rows`` by range into a new file (in whichever process parsed them)."""
        fd, name = tempfile.mkstemp(suffix=".pickle", dir=self._dir.name)
        offsets: list[int | None] = []
        with os.fdopen(fd, "wb") as handle:
            for part in self.ranges.split(rows):
                offsets.append(handle.tell() if part else None)
                if part:
                    pickle.dump(part, handle, protocol=pickle.HIGHEST_PROTOCOL)
        return SpilledSlice(Path(name), tuple(offsets))

    def add(self, spilled: SpilledSlice) -> None:
        """Note where a written slice keeps each range's rows (slices in file order)."""
        for index, offset in enumerate(spilled.offsets):
            if offset is not None:
                self._pieces[index].append((spilled.path, offset))

    def pieces(self) -> tuple[Pieces, ...]:
        """Every range's pieces, in range order."""
        return tuple(tuple(pieces) for pieces in self._pieces)

    def close(self) -> None:
        self._dir.cleanup()

    def __enter__(self) -> Spill:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


def sorted_range(pieces: Pieces) -> list[tuple]:
    """One range's rows by customer, currency and line."""
    rows: list[tuple] = []
    for path, offset in pieces:
        with path.open("rb") as handle:
            handle.seek(offset)
            rows.extend(pickle.load(handle))
    rows.sort(key=_ORDER)
    return rows
