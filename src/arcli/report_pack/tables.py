"""The pack's tables as rows of display text, shared by the HTML and the PDF renderer,
so both show the same figures the same way."""

from __future__ import annotations

from dataclasses import dataclass

from arcli.money import format_money
from arcli.report_pack.data import Pack
from arcli.report_pack.text import locale_of


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[str]]
    numeric: list[bool]      # right-aligned columns


def _amount(value, currency: str, locale: str) -> str:
    return "" if value is None else format_money(value, currency, locale)


def aging_table(pack: Pack, w: dict[str, str], lang: str) -> Table:
    loc = locale_of(lang)
    rows = [[t.currency, *[_amount(t.buckets[label], t.currency, loc) for label in pack.labels],
             _amount(t.unapplied, t.currency, loc), _amount(t.total, t.currency, loc)]
            for t in pack.aging]
    header = [w["currency"], *pack.labels, w["unapplied"], w["total"]]
    return Table(header, rows, [False, *[True] * (len(header) - 1)])


def top_table(pack: Pack, w: dict[str, str], lang: str) -> Table:
    loc = locale_of(lang)
    rows = []
    for currency, debtors in sorted(pack.top.items()):
        for row in debtors:
            overdue = sum((row.buckets[label] for label in pack.labels[1:]),
                          row.total - row.total)
            rows.append([row.customer_id, row.name, currency,
                         _amount(row.total, currency, loc), _amount(overdue, currency, loc)])
    return Table([w["customer"], w["name"], w["currency"], w["balance"], w["overdue"]], rows,
                 [False, False, False, True, True])


def collections_table(pack: Pack, w: dict[str, str], lang: str) -> Table:
    loc = locale_of(lang)
    rows = [[ln.salesperson, ln.currency, _amount(ln.collectable, ln.currency, loc),
             _amount(ln.collected, ln.currency, loc),
             "" if ln.rate is None else str(ln.rate),
             _amount(ln.target, ln.currency, loc),
             "" if ln.achievement is None else str(ln.achievement)]
            for ln in pack.collections]
    return Table([w["salesperson"], w["currency"], w["collectable"], w["collected"],
                  w["rate"], w["target"], w["achievement"]], rows,
                 [False, False, True, True, True, True, True])


def provision_table(pack: Pack, w: dict[str, str], lang: str) -> Table:
    loc = locale_of(lang)
    now, before = pack.provision_as_of
    rows = [[p.currency, _amount(p.provision, p.currency, loc),
             _amount(p.previous, p.currency, loc), _amount(p.change, p.currency, loc)]
            for p in pack.provision]
    return Table([w["currency"], f"{w['provision_now']} {now}",
                  f"{w['provision_before']} {before}", w["change"]], rows,
                 [False, True, True, True])


def holds_table(pack: Pack, w: dict[str, str], lang: str) -> Table:
    loc = locale_of(lang)
    rows = [[ln.customer_id, ln.name, ln.currency, _amount(ln.balance, ln.currency, loc),
             _amount(ln.overdue, ln.currency, loc), "; ".join(ln.reasons)]
            for ln in pack.holds]
    return Table([w["customer"], w["name"], w["currency"], w["balance"], w["overdue"],
                  w["reasons"]], rows, [False, False, False, True, True, False])


def dso_table(pack: Pack, w: dict[str, str]) -> Table:
    months = [p.label for p in next(iter(pack.trend.values()), [])]
    rows = [[currency, *["" if p.dso is None else str(p.dso) for p in points]]
            for currency, points in sorted(pack.trend.items())]
    return Table([w["currency"], *[m[2:] for m in months]], rows,
                 [False, *[True] * len(months)])
