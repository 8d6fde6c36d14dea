"""The ReportLab groundwork every PDF shares: embedded Unicode fonts, text made safe for
Paragraph markup, styles, and a page template with the confidentiality footer.

User text never reaches Paragraph as markup: `text()` escapes it, so a note containing
`<a href=...>` or `<img src=...>` prints those characters and ReportLab fetches nothing."""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

# Nothing a PDF contains may make ReportLab open a URL (no trusted hosts or schemes).
rl_config.trustedHosts = None
rl_config.trustedSchemes = []
# Charts are drawn by our own code from checked numbers; ReportLab's per-attribute type
# checks of every shape cost more than the rest of the drawing.
rl_config.shapeChecking = 0
# Binary (deflated) streams: no ASCII85 step, smaller files and less work.
rl_config.useA85 = 0


def _to_unicode_cmap(fontname: str, subset: Sequence[int]) -> str:
    """ReportLab's ToUnicode map, with characters beyond U+FFFF (emoji) written as UTF-16
    surrogate pairs as the PDF specification requires; ReportLab 4 writes them as five hex
    digits, which readers reject, so copied or searched emoji came out empty."""
    lines = [
        "/CIDInit /ProcSet findresource begin",
        "12 dict begin",
        "begincmap",
        f"/CIDSystemInfo << /Registry ({fontname}) /Ordering ({fontname}) /Supplement 0 >> def",
        f"/CMapName /{fontname} def",
        "/CMapType 2 def",
        "1 begincodespacerange",
        f"<00> <{len(subset) - 1:02X}>",
        "endcodespacerange",
        f"{len(subset)} beginbfchar",
        *(
            f"<{i:02X}> <{chr(v).encode('utf-16-be', 'surrogatepass').hex().upper()}>"
            for i, v in enumerate(subset)
        ),
        "endbfchar",
        "endcmap",
        "CMapName currentdict /CMap defineresource pop",
        "end",
        "end",
    ]
    return "\n".join(lines)


ttfonts.makeToUnicodeCMap = _to_unicode_cmap

FONT_DIR = Path(__file__).parent / "fonts"
BODY, BOLD = "Bedrock", "Bedrock-Bold"
CJK, HANGUL, SYMBOLS = "Bedrock-CJK", "Bedrock-Hangul", "Bedrock-Symbols"
_FILES = {
    BODY: "DejaVuSans.ttf",
    BOLD: "DejaVuSans-Bold.ttf",
    CJK: "DroidSansFallbackFull.ttf",
    HANGUL: "BedrockHangul.ttf",
    SYMBOLS: "Symbola-emoji.ttf",
}
# Zero-width joiners and emoji presentation selectors: no font here draws them, and leaving
# them out changes nothing a reader sees.
_INVISIBLE = dict.fromkeys(map(ord, "\u200d\ufe0e\ufe0f"))
_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")


@lru_cache(maxsize=1)
def fonts() -> dict[str, set[int]]:
    """Register the embedded fonts once per process; each name with the characters it has."""
    covered = {}
    for name, filename in _FILES.items():
        font = TTFont(name, str(FONT_DIR / filename))
        pdfmetrics.registerFont(font)
        covered[name] = set(font.face.charToGlyph)
    pdfmetrics.registerFontFamily(BODY, normal=BODY, bold=BOLD, italic=BODY, boldItalic=BOLD)
    # Charts start from this font too, so no unembedded Helvetica is ever referenced.
    from reportlab.graphics import shapes

    shapes.STATE_DEFAULTS["fontName"] = BODY
    return covered


def _visual(line: str) -> str:
    """Right-to-left text (Arabic, Hebrew) joined and ordered as it is read; ReportLab lays
    glyphs out left to right only."""
    if not _RTL.search(line):
        return line
    import arabic_reshaper
    from bidi import get_display

    return str(get_display(arabic_reshaper.reshape(line)))


def runs(line: str, *, bold: bool = False) -> list[tuple[str, str]]:
    """One line of text as (font, chunk) runs in reading order on the page, each chunk in a
    font that has its characters (for drawings, which cannot switch fonts inside a string)."""
    covered = fonts()
    main = BOLD if bold else BODY
    out: list[tuple[str, str]] = []
    for ch in _visual(unicodedata.normalize("NFC", line).translate(_INVISIBLE)):
        code = ord(ch)
        if code < 32:
            ch, code = " ", 32
        face = main
        if code not in covered[main]:
            face = next((f for f in (CJK, HANGUL, SYMBOLS) if code in covered[f]), main)
        if out and out[-1][0] == face:
            out[-1] = (face, out[-1][1] + ch)
        else:
            out.append((face, ch))
    return out


def width(line: str, size: float, *, bold: bool = False) -> float:
    """How wide one line is when drawn in the embedded fonts at `size` points."""
    return sum(pdfmetrics.stringWidth(chunk, face, size) for face, chunk in runs(line, bold=bold))


def text(value: Any, *, bold: bool = False) -> str:
    """Paragraph markup that prints `value` exactly: escaped, every character in a font that
    has it (Latin, Greek, Cyrillic, Arabic and Hebrew in DejaVu Sans; Chinese and Japanese in
    Droid Sans Fallback; Korean in a NanumGothic subset; emoji and symbols in Symbola), line
    breaks kept."""
    main = BOLD if bold else BODY
    raw = "" if value is None else str(value)
    lines = []
    for line in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        lines.append(
            "".join(
                escape(chunk) if face == main else f'<font face="{face}">{escape(chunk)}</font>'
                for face, chunk in runs(line, bold=bold)
            )
        )
    return "<br/>".join(lines)


# --- styles -----------------------------------------------------------------------------------

INK = colors.HexColor("#1f2d2a")
MUTED = colors.HexColor("#5b6b67")
RULE = colors.HexColor("#c9d3d0")
SHADE = colors.HexColor("#eef3f1")
WARN = colors.HexColor("#8a2c12")


@lru_cache(maxsize=1)
def styles() -> dict[str, ParagraphStyle]:
    fonts()
    base = ParagraphStyle(
        "body", fontName=BODY, fontSize=9.5, leading=13, textColor=INK, alignment=TA_LEFT
    )
    return {
        "body": base,
        "title": ParagraphStyle("title", base, fontName=BOLD, fontSize=16, leading=20),
        "h2": ParagraphStyle(
            "h2", base, fontName=BOLD, fontSize=12, leading=16, spaceBefore=10, spaceAfter=4
        ),
        "h3": ParagraphStyle("h3", base, fontName=BOLD, fontSize=10, leading=13, spaceBefore=6),
        "small": ParagraphStyle("small", base, fontSize=8, leading=10.5, textColor=MUTED),
        "quote": ParagraphStyle("quote", base, leftIndent=10, textColor=INK),
        "cell": ParagraphStyle("cell", base, fontSize=8.5, leading=11),
        "cellhead": ParagraphStyle("cellhead", base, fontName=BOLD, fontSize=8.5, leading=11),
        "warn": ParagraphStyle("warn", base, textColor=WARN, fontName=BOLD),
    }


def para(value: Any, style: str = "body", *, bold: bool = False) -> Paragraph:
    """A paragraph of plain text (escaped; never markup)."""
    return Paragraph(text(value, bold=bold), styles()[style])


def labelled(label: str, value: Any, style: str = "body") -> Paragraph:
    """'Label: value' with the label in bold; both escaped."""
    return Paragraph(f"{text(label, bold=True)} {text(value)}", styles()[style])


def table(
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    widths: Sequence[float] | None = None,
) -> Table:
    """A simple ruled table; every cell is escaped text."""
    s = styles()
    data = [[Paragraph(text(h, bold=True), s["cellhead"]) for h in header]]
    data += [[Paragraph(text(c), s["cell"]) for c in row] for row in rows]
    t = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
    t.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), BODY),
                ("BACKGROUND", (0, 0), (-1, 0), SHADE),
                ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 4),
                ("RIGHTPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return t


def gap(height_mm: float = 3) -> Spacer:
    return Spacer(1, height_mm * mm)


def keep(*items: Flowable) -> KeepTogether:
    return KeepTogether(list(items))


PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
FRAME_WIDTH = PAGE_WIDTH - 2 * MARGIN


def render(
    story: list[Flowable],
    *,
    title: str,
    footer: str,
    author: str = "Bedrock",
) -> bytes:
    """The PDF's bytes. `invariant` makes the same story give the same bytes (no clock or
    random document id), so reports can be compared and cached."""
    fonts()
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 6 * mm,
        title=title,
        author=author,
        creator="Bedrock",
        invariant=1,
        lang="en-GB",
        initialFontName=BODY,  # so no unembedded Helvetica is referenced anywhere
    )

    def decorate(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont(BODY, 7.5)
        canvas.setFillColor(MUTED)
        canvas.setStrokeColor(RULE)
        canvas.line(MARGIN, MARGIN + 2 * mm, PAGE_WIDTH - MARGIN, MARGIN + 2 * mm)
        canvas.drawString(MARGIN, MARGIN - 2 * mm, footer)
        canvas.restoreState()

    doc.build(story, onFirstPage=decorate, onLaterPages=decorate, canvasmaker=_counting_canvas())
    return out.getvalue()


def _counting_canvas() -> Callable[..., Any]:
    """A canvas that knows the page count when it writes 'Page n of N'."""
    from reportlab.pdfgen.canvas import Canvas

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 (ReportLab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self.saveState()
                self.setFont(BODY, 7.5)
                self.setFillColor(MUTED)
                self.drawRightString(
                    PAGE_WIDTH - MARGIN, MARGIN - 2 * mm, f"Page {number} of {total}"
                )
                self.restoreState()
                super().showPage()
            super().save()

    return NumberedCanvas
