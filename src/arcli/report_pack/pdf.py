"""The pack as a PDF: reportlab tables and reportlab.graphics charts.

Chart labels default to unembedded Helvetica, which cannot show Chinese: every label here
gets the document's font (the embedded CJK subset for ``--lang zh`` or Chinese data).
Charts take integer minor units and tenths of days; axis texts come from a lookup of the
exact values, so no amount is formatted from a float.
"""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

from arcli import money
from arcli.report_pack import tables
from arcli.report_pack.data import Pack, amount_label
from arcli.report_pack.text import words

COLOURS = ("#4e79a7", "#59a14f", "#edc948", "#f28e2b", "#e15759", "#b07aa1", "#76b7b2")
CHART_W, CHART_H = 430, 110
FONT_SIZE, PADDING = 7.5, 12          # table text, and a cell's left + right padding
PAGE_ROOM = 523                       # A4 width less the margins, in points


def _texts(pack: Pack) -> list[str]:
    """The data texts that decide whether the document needs the CJK font."""
    names = [r.name for rows in pack.top.values() for r in rows]
    names += [h.name for h in pack.holds] + [c.salesperson for c in pack.collections]
    return [pack.company, *names]


def _steps(top: int, count: int = 4) -> list[int]:
    step = max(-(-top // count), 1)
    return [step * i for i in range(count + 1)]


def _bar_chart(font: str, categories: list[str], series: list[tuple[str, list[int]]],
               label_of) -> object:
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.charts.legends import Legend
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors

    drawing = Drawing(CHART_W + 85, CHART_H + (45 if len(series) > 1 else 25))
    chart = VerticalBarChart()
    chart.x, chart.y = 80, 35 if len(series) > 1 else 15
    chart.width, chart.height = CHART_W, CHART_H
    chart.data = [tuple(values) for _, values in series]
    chart.categoryAxis.categoryNames = categories
    chart.categoryAxis.style = "stacked"
    top = max((sum(v[i] for _, v in series) for i in range(len(categories))), default=0)
    steps = _steps(top)
    chart.valueAxis.valueMin, chart.valueAxis.valueMax = 0, steps[-1]
    chart.valueAxis.valueSteps = steps
    shown = {step: label_of(step) for step in steps}
    chart.valueAxis.labelTextFormat = lambda value: shown.get(value, "")
    for axis in (chart.categoryAxis, chart.valueAxis):
        axis.labels.fontName, axis.labels.fontSize = font, 7
    for index in range(len(series)):
        chart.bars[index].fillColor = colors.HexColor(COLOURS[index % len(COLOURS)])
        chart.bars[index].strokeColor = None
    drawing.add(chart)
    if len(series) > 1:
        legend = Legend()
        legend.fontName, legend.fontSize = font, 7
        legend.x, legend.y, legend.dx, legend.dy = 80, 10, 7, 7
        legend.alignment, legend.columnMaximum, legend.deltax = "right", 1, 60
        legend.colorNamePairs = [(colors.HexColor(COLOURS[i % len(COLOURS)]), name)
                                 for i, (name, _) in enumerate(series)]
        drawing.add(legend)
    return drawing


def _line_chart(font: str, categories: list[str], values: list[Decimal | None]) -> object:
    from reportlab.graphics.charts.linecharts import HorizontalLineChart
    from reportlab.graphics.shapes import Drawing
    from reportlab.graphics.widgets.markers import makeMarker
    from reportlab.lib import colors

    tenths = [None if v is None else int(v * 10) for v in values]
    drawing = Drawing(CHART_W + 85, CHART_H + 25)
    chart = HorizontalLineChart()
    chart.x, chart.y, chart.width, chart.height = 80, 15, CHART_W, CHART_H
    chart.data = _runs(tenths)
    chart.categoryAxis.categoryNames = categories
    steps = _steps(max((t for t in tenths if t is not None), default=0))
    chart.valueAxis.valueMin, chart.valueAxis.valueMax = 0, steps[-1]
    chart.valueAxis.valueSteps = steps
    shown = {step: str(Decimal(step).scaleb(-1)) for step in steps}
    chart.valueAxis.labelTextFormat = lambda value: shown.get(value, "")
    for axis in (chart.categoryAxis, chart.valueAxis):
        axis.labels.fontName, axis.labels.fontSize = font, 7
    for index in range(len(chart.data)):
        chart.lines[index].strokeColor = colors.HexColor(COLOURS[0])
        chart.lines[index].strokeWidth = 1.5
        chart.lines[index].symbol = makeMarker("FilledCircle", size=3)  # lone months show
    drawing.add(chart)
    return drawing


def _runs(values: list[int | None]) -> list[tuple[int | None, ...]]:
    """One series per run of known values (None elsewhere): the chart joins all points of
    a series, and a month without a DSO must stay a gap, not a line across it."""
    runs: list[tuple[int | None, ...]] = []
    start = None
    for index, value in enumerate([*values, None]):
        if value is not None and start is None:
            start = index
        elif value is None and start is not None:
            runs.append(tuple(v if start <= i < index else None
                              for i, v in enumerate(values)))
            start = None
    return runs or [tuple(values)]


def _grid(table: tables.Table, font: str, bold: str, none: str, styles) -> object:
    from reportlab.lib import colors
    from reportlab.platypus import Paragraph, Table, TableStyle

    if not table.rows:
        return Paragraph(escape(none), styles)
    grid = Table(_fitted(table, font, bold), repeatRows=1, hAlign="LEFT")
    style = [("FONTNAME", (0, 0), (-1, -1), font), ("FONTNAME", (0, 0), (-1, 0), bold),
             ("FONTSIZE", (0, 0), (-1, -1), FONT_SIZE),
             ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.grey),
             ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.lightgrey),
             ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5)]
    style += [("ALIGN", (i, 0), (i, -1), "RIGHT")
              for i, numeric in enumerate(table.numeric) if numeric]
    grid.setStyle(TableStyle(style))
    return grid


def _fitted(table: tables.Table, font: str, bold: str) -> list[list[str]]:
    """Header and rows with the text columns wrapped to share what the amounts leave of
    the page width: a long customer name must neither run off the page nor be cut."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from arcli.render.textfit import wrap_text

    def width(column: int) -> float:
        cells = [(table.header[column], bold), *((row[column], font) for row in table.rows)]
        return max(stringWidth(text, face, FONT_SIZE) for text, face in cells) + PADDING

    numeric = sum(width(i) for i, n in enumerate(table.numeric) if n)
    texts = [i for i, n in enumerate(table.numeric) if not n]
    room = max((PAGE_ROOM - numeric) / max(len(texts), 1), 40) - PADDING
    return [["\n".join(wrap_text(cell, bold if r == 0 else font, FONT_SIZE, room))
              if i in texts else cell
             for i, cell in enumerate(row)]
            for r, row in enumerate([table.header, *table.rows])]


def render_pdf(pack: Pack, lang: str, cjk_font: Path | None = None) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer

    import arcli.render.document  # noqa: F401  (deterministic builds: rl_config.invariant)
    from arcli.render.fonts import font_pair, needs_cjk

    w = words(lang)
    font, bold = font_pair(lang == "zh" or needs_cjk(*_texts(pack)), cjk_font)
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=12)
    h1 = ParagraphStyle("h1", fontName=bold, fontSize=15, leading=19, spaceAfter=4)
    h2 = ParagraphStyle("h2", fontName=bold, fontSize=11.5, leading=15, spaceBefore=10,
                        spaceAfter=3, keepWithNext=1)
    h3 = ParagraphStyle("h3", fontName=bold, fontSize=9, leading=12, spaceBefore=4)
    story = [Paragraph(escape(f"{pack.company} — {w['title']}"), h1),
             Paragraph(escape(f"{w['period']} {pack.period.label}, {w['as_of']} "
                              f"{pack.as_of}"), body),
             Paragraph(escape(w["aging"]), h2),
             _grid(tables.aging_table(pack, w, lang), font, bold, w["none"], body)]
    for total in pack.aging:
        story.append(KeepTogether([Paragraph(escape(total.currency), h3), _bar_chart(
            font, pack.labels,
            [(total.currency, [money.to_minor(total.buckets[b], total.currency)
                               for b in pack.labels])],
            amount_label(total.currency))]))
    trend = [[Paragraph(escape(currency), h3), _bar_chart(
        font, [p.label[2:] for p in points],
        [(label, [p.buckets.get(label, 0) for p in points]) for label in pack.labels],
        amount_label(currency))] for currency, points in sorted(pack.trend.items())]
    # the heading goes with its first chart: a heading alone at a page's foot helps no one
    first = trend[0] if trend else [Paragraph(escape(w["none"]), body)]
    story.append(KeepTogether([Paragraph(escape(w["trend"]), h2), *first]))
    story += [KeepTogether(block) for block in trend[1:]]
    story += [Paragraph(escape(w["top"]), h2),
              _grid(tables.top_table(pack, w, lang), font, bold, w["none"], body),
              Paragraph(escape(w["collections"]), h2),
              _grid(tables.collections_table(pack, w, lang), font, bold, w["none"], body),
              Paragraph(escape(w["dso"]), h2),
              _grid(tables.dso_table(pack, w), font, bold, w["none"], body)]
    for currency, points in sorted(pack.trend.items()):
        story.append(KeepTogether([Paragraph(escape(currency), h3), _line_chart(
            font, [p.label[2:] for p in points], [p.dso for p in points])]))
    story += [Paragraph(escape(w["provision"]), h2),
              _grid(tables.provision_table(pack, w, lang), font, bold, w["none"], body),
              Paragraph(escape(w["holds"]), h2),
              _grid(tables.holds_table(pack, w, lang), font, bold, w["none"], body),
              Spacer(1, 6)]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=36, rightMargin=36,
                            topMargin=36, bottomMargin=36,
                            title=f"{w['title']} {pack.period.label}")
    doc.build(story)
    return buffer.getvalue()

