"""Fonts: Helvetica for Latin text, an embedded TrueType subset for Chinese.

reportlab's built-in CID fonts are not embedded and one of them is broken (see
shared notes), so CJK text uses a real TrueType face, subset-embedded: WQY Micro Hei from
Debian's ``fonts-wqy-microhei`` by default, or any TrueType/TTC file named in the config
(``render.cjk_font``). Registration happens once per process.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from arcli.errors import ArcliError

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
        pdfmetrics.registerFont(TTFont(CJK_NAME, str(font_path), subfontIndex=subfont))
    except TTFError as exc:
        raise FontError(f"render.cjk_font {font_path}: not a usable TrueType font: {exc}") \
            from None
    for bold in (0, 1):
        for italic in (0, 1):
            addMapping(CJK_NAME, bold, italic, CJK_NAME)
    return CJK_NAME, CJK_NAME


def font_pair(cjk: bool, path: Path | None = None) -> tuple[str, str]:
    """(regular, bold) font names for a document."""
    return register_cjk(path) if cjk else LATIN
