"""Accounting periods named the way people and cron jobs name them.

``2026-10``, ``last-month`` and ``this-month`` all resolve against "today", so a cron entry
``arcli statements --period last-month`` does the right thing every month.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from arcli.errors import UsageError

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Period:
    """A calendar month: first and last day, and its ``YYYY-MM`` label."""

    start: dt.date
    end: dt.date

    @property
    def label(self) -> str:
        return f"{self.start.year:04d}-{self.start.month:02d}"

    def up_to(self, today: dt.date) -> Period:
        """The period as far as it has happened by ``today``: a month still running ends
        today, so no report is dated, nor its items aged, past the day it is made
        (``this-month`` ran to the month's last day). A month not yet begun is a
        UsageError: every item in it would read as not yet due or falsely overdue."""
        if self.start > today:
            raise UsageError(f"the period {self.label} has not begun (today is {today})")
        return self if self.end <= today else Period(self.start, today)

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        last = calendar.monthrange(year, month)[1]
        return cls(dt.date(year, month, 1), dt.date(year, month, last))


def parse_period(text: str, today: dt.date) -> Period:
    """``YYYY-MM``, ``this-month`` or ``last-month``; UsageError otherwise."""
    value = text.strip().lower()
    if value == "this-month":
        return Period.month(today.year, today.month)
    if value == "last-month":
        previous = today.replace(day=1) - dt.timedelta(days=1)
        return Period.month(previous.year, previous.month)
    match = _MONTH.match(value)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise UsageError(f"period must be YYYY-MM, this-month or last-month, got {text!r}")
    return Period.month(int(match.group(1)), int(match.group(2)))
