"""Paragraphs whose parsing and line breaking are done once per batch, not per document.

reportlab parses a paragraph's markup when it is created and breaks it into lines in
every ``wrap`` (a ``KeepTogether`` wraps its content once to measure it and the frame
wraps it again). Most paragraphs of a statement or letter are the same in every document
of a batch ("Open items as of …", headings, the payment instructions): parsing and line
breaking were a third of the fixed cost of a document.

Both results depend only on the markup, the style and the available width, and reportlab
treats them as read-only afterwards (drawing and splitting build new objects from them),
so :class:`ReusedParagraph` keeps them in a small cache keyed by exactly those.
Paragraphs that reportlab creates itself when splitting one across pages are never
cached. Font subsets are assigned when text is drawn, per document, so sharing the
layout between documents does not share any per-document PDF state.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph
from reportlab.rl_config import paraFontSizeHeightOffset

from arcli.render.textblock import TextBlock, plain_color

_LAYOUT = ("width", "height", "blPara", "_wrapWidths", "_width_max", "frags",
           "_splitLongWordCount", "_hyphenations")


class _Lru(OrderedDict):
    """A small least-recently-used cache."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def remember(self, key, value) -> None:
        self[key] = value
        if len(self) > self.size:
            self.popitem(last=False)

    def recall(self, key) -> Any:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value


# The style object itself is kept in each entry: it keeps its id from being reused.
_PARSED = _Lru(256)  # (markup, id(style)) -> (style, text, parsed style, frags, bullet)
_LAYOUTS = _Lru(512)  # (markup, id(style), width) -> (style, attributes set by wrap)


class ReusedParagraph(Paragraph):
    """A ``Paragraph`` sharing its parse and line breaks with identical paragraphs."""

    def __init__(self, text, style=None, bulletText=None, frags=None, **kwargs):
        self._key = None
        if frags is not None or text is None or bulletText is not None or kwargs \
                or not isinstance(style, ParagraphStyle):
            super().__init__(text, style, bulletText, frags, **kwargs)  # e.g. split halves
            return
        if style.wordWrap in ("RTL", "LTR"):  # bidi drawing reverses cached lines in place
            super().__init__(text, style)
            return
        self._key, self._style = (text, id(style)), style
        parsed = _PARSED.recall(self._key)
        if parsed is None or parsed[0] is not style:
            super().__init__(text, style)
            _PARSED.remember(self._key, (style, self.text, self.style, self.frags,
                                         self.bulletText))
        else:
            _, cleaned, parsed_style, frags, bullet = parsed
            super().__init__(cleaned, parsed_style, bullet, list(frags))

    def wrap(self, availWidth, availHeight):
        if self._key is None:
            return super().wrap(availWidth, availHeight)
        key = (*self._key, availWidth)
        cached = _LAYOUTS.recall(key)
        if cached is None or cached[0] is not self._style:
            super().wrap(availWidth, availHeight)
            _LAYOUTS.remember(key, (self._style, tuple(getattr(self, n) for n in _LAYOUT)))
        else:
            for name, value in zip(_LAYOUT, cached[1], strict=True):
                setattr(self, name, value)
        return self.width, self.height

    def draw(self):
        """Single-style paragraphs (most of ours) as one text block: the same lines at the
        same places as reportlab's ``drawPara``, without a text object per paragraph."""
        if not _plain_lines(self):
            return super().draw()
        style, lines = self.style, self.blPara
        block = TextBlock(self.canv).style(lines.fontName, lines.fontSize, lines.textColor,
                                           style.leading)
        y = self.height - (lines.fontSize if paraFontSizeHeightOffset
                           else getattr(lines, "ascent", lines.fontSize))
        for index, (extra, words) in enumerate(lines.lines):
            x = style.leftIndent + (style.firstLineIndent if index == 0 else 0)
            x += extra if style.alignment == TA_RIGHT else \
                extra * 0.5 if style.alignment == TA_CENTER else 0
            block.text(x, y, " ".join(words))
            y -= style.leading
        block.draw()
        return None


def _plain_lines(p: Paragraph) -> bool:
    """True when reportlab would draw ``p`` as plain left/right/centred lines of one font
    and colour: no bullets, borders, backgrounds, underlines, links, justification or
    over-full lines (which reportlab squeezes with word spacing)."""
    style, lines = p.style, getattr(p, "blPara", None)
    return (lines is not None and lines.kind == 0 and not p.bulletText
            and style.alignment in (TA_LEFT, TA_CENTER, TA_RIGHT)
            and not style.backColor and not (style.borderColor and style.borderWidth)
            and getattr(p, "autoLeading", getattr(style, "autoLeading", "")) in ("", "off", None)
            and style.wordWrap in (None, "") and getattr(p, "_offsets", [0]) == [0]
            and not getattr(lines, "us_lines", None) and not getattr(lines, "link", None)
            and not getattr(lines, "rise", 0) and plain_color(lines.textColor)
            and all(extra > -1e-8 for extra, _ in lines.lines))
