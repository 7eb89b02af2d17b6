"""The pack as one self-contained HTML file: inline CSS, inline SVG charts, no scripts,
no external resources (it opens offline and in a mail attachment viewer).

Every piece of data is escaped (customer names are data, not markup); chart geometry is
integer arithmetic on minor units, so no amount passes through a float.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape

from arcli import money
from arcli.report_pack import tables
from arcli.report_pack.data import Pack, amount_label
from arcli.report_pack.text import words

COLOURS = ("#4e79a7", "#59a14f", "#edc948", "#f28e2b", "#e15759", "#b07aa1", "#76b7b2")
_W, _H = 720, 220
_LEFT, _RIGHT, _TOP = 110, 20, 30   # room for the axis label, the margin, the top

_CSS = """
body{font-family:"Helvetica Neue",Arial,"WenQuanYi Micro Hei","Noto Sans CJK SC",sans-serif;
margin:24px;color:#222}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{padding:3px 8px;border-bottom:1px solid #e4e4e4;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
svg{display:block;margin:6px 0}svg text{font-size:11px;font-family:inherit}
"""


def _table(table: tables.Table, none: str) -> str:
    if not table.rows:
        return f"<p>{escape(none)}</p>"
    head = "".join(f'<th class="{"n" if n else ""}">{escape(h)}</th>'
                   for h, n in zip(table.header, table.numeric, strict=True))
    body = "".join(
        "<tr>" + "".join(f'<td class="{"n" if n else ""}">{escape(c)}</td>'
                         for c, n in zip(row, table.numeric, strict=True)) + "</tr>"
        for row in table.rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def stacked_bars(title: str, categories: list[str], series: list[tuple[str, list[int]]],
                 label_of) -> str:
    """Bars per category, each stacked from the series' values (minor units, >= 0);
    ``label_of`` writes the axis's top value."""
    totals = [sum(max(values[i], 0) for _, values in series) for i in range(len(categories))]
    top = max(totals, default=0) or 1
    slot = (_W - _LEFT - _RIGHT) // max(len(categories), 1)
    bar = max(slot * 2 // 3, 4)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H + 40}" '
             f'role="img" aria-label="{escape(title)}">',
             f'<line x1="{_LEFT}" y1="{_H}" x2="{_W - _RIGHT}" y2="{_H}" stroke="#888"/>',
             f'<line x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{_H}" stroke="#888"/>',
             f'<text x="{_LEFT - 4}" y="{_TOP + 4}" text-anchor="end">{escape(label_of(top))}'
             f'</text><text x="{_LEFT - 4}" y="{_H + 4}" text-anchor="end">0</text>']
    for i, category in enumerate(categories):
        x, y = _LEFT + i * slot + (slot - bar) // 2, _H
        for number, (name, values) in enumerate(series):
            height = max(values[i], 0) * (_H - _TOP) // top
            if height:
                y -= height
                parts.append(f'<rect x="{x}" y="{y}" width="{bar}" height="{height}" '
                             f'fill="{COLOURS[number % len(COLOURS)]}">'
                             f'<title>{escape(name)}</title></rect>')
        parts.append(f'<text x="{x + bar // 2}" y="{_H + 14}" text-anchor="middle">'
                     f'{escape(category)}</text>')
    if len(series) > 1:
        for number, (name, _) in enumerate(series):
            x = _LEFT + number * 90
            parts.append(f'<rect x="{x}" y="{_H + 24}" width="10" height="10" '
                         f'fill="{COLOURS[number % len(COLOURS)]}"/>'
                         f'<text x="{x + 14}" y="{_H + 33}">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def line_chart(title: str, categories: list[str], values: list[Decimal | None]) -> str:
    """One line through the known values (days, one decimal); gaps where none."""
    known = [v for v in values if v is not None]
    top = max(known, default=Decimal(1)) or Decimal(1)
    slot = (_W - _LEFT - _RIGHT) // max(len(categories), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H + 20}" '
             f'role="img" aria-label="{escape(title)}">',
             f'<line x1="{_LEFT}" y1="{_H}" x2="{_W - _RIGHT}" y2="{_H}" stroke="#888"/>']
    runs: list[list[str]] = [[]]   # a month without a value breaks the line
    for i, (category, value) in enumerate(zip(categories, values, strict=True)):
        x = _LEFT + i * slot + slot // 2
        parts.append(f'<text x="{x}" y="{_H + 14}" text-anchor="middle">'
                     f'{escape(category)}</text>')
        if value is None:
            runs.append([])
            continue
        y = _H - int(value * (_H - _TOP) / top)
        runs[-1].append(f"{x},{y}")
        parts.append(f'<circle cx="{x}" cy="{y}" r="3" fill="{COLOURS[0]}"/>'
                     f'<text x="{x}" y="{y - 6}" text-anchor="middle">{value}</text>')
    parts += [f'<polyline points="{" ".join(run)}" fill="none" stroke="{COLOURS[0]}" '
              'stroke-width="2"/>' for run in runs if len(run) > 1]
    parts.append("</svg>")
    return "".join(parts)


def render_html(pack: Pack, lang: str) -> str:
    w = words(lang)
    out = [f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head>'
           '<meta charset="utf-8"><meta name="viewport" content="width=device-width">'
           f"<title>{escape(w['title'])} {pack.period.label}</title><style>{_CSS}</style>"
           "</head><body>",
           f"<h1>{escape(pack.company)} — {escape(w['title'])}</h1>",
           f"<p>{escape(w['period'])} {pack.period.label}, {escape(w['as_of'])} "
           f"{pack.as_of}</p>",
           f"<h2>{escape(w['aging'])}</h2>", _table(tables.aging_table(pack, w, lang), w["none"])]
    for total in pack.aging:
        minor = [money.to_minor(total.buckets[label], total.currency)
                 for label in pack.labels]
        out.append(f"<h3>{escape(total.currency)}</h3>")
        out.append(stacked_bars(f"{w['aging']} {total.currency}", pack.labels,
                                [(total.currency, minor)], amount_label(total.currency)))
    out.append(f"<h2>{escape(w['trend'])}</h2>")
    if not pack.trend:
        out.append(f"<p>{escape(w['none'])}</p>")
    for currency, points in sorted(pack.trend.items()):
        months = [p.label[2:] for p in points]
        series = [(label, [p.buckets.get(label, 0) for p in points]) for label in pack.labels]
        out.append(f"<h3>{escape(currency)}</h3>")
        out.append(stacked_bars(f"{w['trend']} {currency}", months, series,
                                amount_label(currency)))
    out += [f"<h2>{escape(w['top'])}</h2>", _table(tables.top_table(pack, w, lang), w["none"]),
            f"<h2>{escape(w['collections'])}</h2>",
            _table(tables.collections_table(pack, w, lang), w["none"]),
            f"<h2>{escape(w['dso'])}</h2>", _table(tables.dso_table(pack, w), w["none"])]
    for currency, points in sorted(pack.trend.items()):
        out.append(f"<h3>{escape(currency)}</h3>")
        out.append(line_chart(f"{w['dso']} {currency}", [p.label[2:] for p in points],
                              [p.dso for p in points]))
    out += [f"<h2>{escape(w['provision'])}</h2>",
            _table(tables.provision_table(pack, w, lang), w["none"]),
            f"<h2>{escape(w['holds'])}</h2>",
            _table(tables.holds_table(pack, w, lang), w["none"]), "</body></html>\n"]
    return "".join(out)

