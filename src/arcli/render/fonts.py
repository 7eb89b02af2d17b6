"""Fonts: Helvetica for Latin text, an embedded TrueType subset for Chinese.

reportlab's built-in CID fonts are not embedded and one of them is broken (see
shared notes), so CJK text uses a real TrueType face, subset-embedded: WQY Micro Hei from
Debian's ``fonts-wqy-microhei`` by default, or any TrueType/TTC file named in the config
(``render.cjk_font``). Registration happens once per process.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import Any

from arcli.errors import ArcliError
from arcli.render.flate import Flate, as_bytes

DEFAULT_CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
LATIN = ("Helvetica", "Helvetica-Bold")
CJK_NAME = "ArcliCJK"


class FontError(ArcliError):
    """No usable font for text that needs one."""


def needs_cjk(*texts: str | None) -> bool:
    """True when some text cannot be drawn with the Latin-1 built-in fonts."""
    for text in texts:
        if text:
            try:
                text.encode("latin-1")
            except UnicodeEncodeError:
                return True
    return False


@lru_cache(maxsize=4)
def register_cjk(path: Path | None = None, subfont: int = 0) -> tuple[str, str]:
    """Register the CJK face (regular and, lacking a bold cut, the same for bold)."""
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    font_path = path or DEFAULT_CJK_FONT
    if not font_path.is_file():
        raise FontError(
            f"CJK font {font_path} not found: install Debian's fonts-wqy-microhei or set "
            "render.cjk_font in the config to a TrueType (.ttf/.ttc) file"
        )
    try:
        font = TTFont(CJK_NAME, str(font_path), subfontIndex=subfont)
    except TTFError as exc:
        raise FontError(f"render.cjk_font {font_path}: not a usable TrueType font: {exc}") \
            from None
    _reuse_subsets(font.face)
    _reuse_subset_fonts(font)
    pdfmetrics.registerFont(font)
    for bold in (0, 1):
        for italic in (0, 1):
            addMapping(CJK_NAME, bold, italic, CJK_NAME)
    return CJK_NAME, CJK_NAME


def font_pair(cjk: bool, path: Path | None = None) -> tuple[str, str]:
    """(regular, bold) font names for a document."""
    return register_cjk(path) if cjk else LATIN


class _Memo(OrderedDict):
    """A small least-recently-used cache."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def get_or_make(self, key, make):
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = self[key] = make()
        if len(self) > self.size:
            self.popitem(last=False)
        return value


class _ReusedFlate(Flate):
    """Flate at zlib's default level, remembering the last few results (font files, made
    once per batch, so the better compression costs nothing)."""

    def __init__(self):
        super().__init__()
        self._memo = _Memo(32)

    def encode(self, content: bytes | str) -> bytes:
        data = as_bytes(content)
        return self._memo.get_or_make(data, lambda: Flate.encode(self, data))


def _reuse_subsets(face: Any) -> None:
    """Build each distinct font subset (and its compressed stream) once per process.

    reportlab subsets the CJK face anew for every document: ~0.6 ms to cut the subset
    and ~0.5 ms to compress it. A batch uses the same few subsets over and over (the
    template's wording fixes most of the characters, in the same order), and a subset
    is a pure function of its character list, so the bytes can be reused.
    """
    subsets = _Memo(32)
    flate = _ReusedFlate()
    make_subset, add_subset_objects = face.makeSubset, face.addSubsetObjects

    def cached_subset(subset):
        return subsets.get_or_make(tuple(subset), lambda: make_subset(subset))

    def subset_objects(doc, fontname, subset):
        descriptor = add_subset_objects(doc, fontname, subset)
        stream = doc.idToObject.get(f"fontFile:{face.filename}({fontname})")
        if stream is not None and [f.pdfname for f in stream.filters or ()] == ["FlateDecode"]:
            stream.filters = [flate]
        return descriptor

    face.makeSubset, face.addSubsetObjects = cached_subset, subset_objects


def _reuse_subset_fonts(font: Any) -> None:
    """Reuse the formatted glyph widths and compressed ToUnicode map of each subset.

    Each subset's font dictionary carries a widths array (formatting its ~130 numbers with
    reportlab's pure-Python ``fp_str`` took ~0.3 ms a document) and a ToUnicode CMap
    stream; both follow from the subset alone. Bytes in a PDF dictionary are written
    verbatim by reportlab, so the formatted array is stored as bytes.
    """
    from reportlab.pdfbase import pdfdoc

    widths, flate = _Memo(64), _ReusedFlate()
    add_objects, prefix = font.addObjects, f"Font {font.fontName} subset "

    def add_objects_reusing(doc) -> None:
        add_objects(doc)
        for obj in doc.idToObject["BasicFonts"].dict.values():
            if not getattr(obj, "__Comment__", "").startswith(prefix):
                continue
            if isinstance(obj.Widths, pdfdoc.PDFArray):
                array = obj.Widths
                obj.Widths = widths.get_or_make(tuple(array.sequence),
                                                lambda array=array: pdfdoc.format(array, doc))
            cmap = doc.idToObject.get(obj.ToUnicode.name)
            if cmap is not None and [f.pdfname for f in cmap.filters or ()] == ["FlateDecode"]:
                cmap.filters = [flate]

    font.addObjects = add_objects_reusing
