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
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
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
from reportlab.platypus.doctemplate import _ktAllow
from reportlab.platypus.paragraph import cleanBlockQuotedText
from reportlab.platypus.paraparser import ParaFrag, ParaParser

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
    glyphs out left to right only. For one line: a paragraph that wraps is broken into lines
    first (`_BidiParagraph`), or its lines would print in the wrong order."""
    if not _RTL.search(line):
        return line
    return _display(_shaped(line), _direction(line))


def _shaped(line: str) -> str:
    """Arabic letters in their joined forms, still in reading order."""
    if not _RTL.search(line):
        return line
    import arabic_reshaper

    return str(arabic_reshaper.reshape(line))


def _direction(line: str) -> str | None:
    """'R' or 'L' from the first letter with a direction (the Unicode rule P2), else None."""
    for ch in line:
        kind = unicodedata.bidirectional(ch)
        if kind == "L":
            return "L"
        if kind in ("R", "AL"):
            return "R"
    return None


def _display(shaped: str, direction: str | None) -> str:
    """One line in the order it is drawn, left to right."""
    if not _RTL.search(shaped):
        return shaped
    from bidi import get_display

    return str(get_display(shaped, base_dir=direction or "L"))


def _clean(value: Any) -> str:
    """The text as it prints: composed, invisible joiners dropped, one kind of line break."""
    raw = unicodedata.normalize("NFC", "" if value is None else str(value)).translate(_INVISIBLE)
    return raw.replace("\r\n", "\n").replace("\r", "\n")


def _face(code: int, main: str) -> str:
    """The font that draws a character: the main one, else the first fallback that has it."""
    covered = fonts()
    if code in covered[main]:
        return main
    return next((f for f in (CJK, HANGUL, SYMBOLS) if code in covered[f]), main)


def _runs(line: str, main: str) -> list[tuple[str, str]]:
    """(font, chunk) runs of one line, each chunk in a font that has its characters."""
    if not line:
        return []
    if min(line) >= " " and fonts()[main].issuperset(map(ord, line)):
        return [(main, line)]  # the usual case, found without a step per character
    out: list[tuple[str, str]] = []
    for ch in line:
        code = ord(ch)
        if code < 32:
            ch, code = " ", 32
        face = _face(code, main)
        if out and out[-1][0] == face:
            out[-1] = (face, out[-1][1] + ch)
        else:
            out.append((face, ch))
    return out


def _markup(line: str, main: str) -> str:
    """One line of text as escaped markup, each run of characters in a font that has them.
    Bold text names its font even where the paragraph's own font is the regular one (a
    label before its value)."""
    return "".join(
        escape(chunk) if face == main == BODY else f'<font face="{face}">{escape(chunk)}</font>'
        for face, chunk in _runs(line, main)
    )


def runs(line: str, *, bold: bool = False) -> list[tuple[str, str]]:
    """One line of text as (font, chunk) runs in the order drawn on the page (for drawings,
    which cannot switch fonts inside a string)."""
    return _runs(_visual(_clean(line).replace("\n", " ")), BOLD if bold else BODY)


def width(line: str, size: float, *, bold: bool = False) -> float:
    """How wide one line is when drawn in the embedded fonts at `size` points."""
    return sum(pdfmetrics.stringWidth(chunk, face, size) for face, chunk in runs(line, bold=bold))


def text(value: Any, *, bold: bool = False) -> str:
    """Paragraph markup that prints `value` exactly: escaped, every character in a font that
    has it (Latin, Greek, Cyrillic, Arabic and Hebrew in DejaVu Sans; Chinese and Japanese in
    Droid Sans Fallback; Korean in a NanumGothic subset; emoji and symbols in Symbola), line
    breaks kept."""
    main = BOLD if bold else BODY
    return "<br/>".join(_markup(_visual(line), main) for line in _clean(value).split("\n"))


# Right-to-left paragraphs: wrapped in reading order, then each line put in visual order.

Run = tuple[str, bool]  # text, bold


@lru_cache(maxsize=4096)
def _width(ch: str, main: str, size: float) -> float:
    code = 32 if ord(ch) < 32 else ord(ch)
    return pdfmetrics.stringWidth(chr(code), _face(code, main), size)


def _rtl_lines(runs: Sequence[Run], size: float, room: float) -> str:
    """Markup with a line break wherever a line is full: the text is broken into lines in
    reading order (at spaces, or inside a word longer than a line), and only then is each
    line reordered for display, so the first words print on the first line."""
    # Pieces: (run, text) within one hard line; each piece keeps its own direction, as
    # text() does for a label and its value.
    hard: list[list[tuple[bool, str, str | None]]] = [[]]
    for value, bold in runs:
        for k, part in enumerate(_clean(value).split("\n")):
            if k:
                hard.append([])
            if part:
                hard[-1].append((bold, _shaped(part), _direction(part)))
    out = []
    for pieces in hard:
        chars = [(ch, n) for n, (_, shaped, _) in enumerate(pieces) for ch in shaped]
        lines = _break(chars, pieces, size, room)
        for line in lines or [[]]:
            groups: list[tuple[int, str]] = []
            for ch, n in line:
                if groups and groups[-1][0] == n:
                    groups[-1] = (n, groups[-1][1] + ch)
                else:
                    groups.append((n, ch))
            out.append(
                "".join(
                    _markup(_display(chunk, pieces[n][2]), BOLD if pieces[n][0] else BODY)
                    for n, chunk in groups
                )
            )
    return "<br/>".join(out)


def _break(
    chars: list[tuple[str, int]],
    pieces: list[tuple[bool, str, str | None]],
    size: float,
    room: float,
) -> list[list[tuple[str, int]]]:
    """Greedy line breaking of (character, piece) pairs at spaces, measured in the fonts that
    will draw them."""

    def width(seq: list[tuple[str, int]]) -> float:
        return sum(_width(ch, BOLD if pieces[n][0] else BODY, size) for ch, n in seq)

    words: list[list[tuple[str, int]]] = []
    spaces: list[tuple[str, int]] = []
    current: list[tuple[str, int]] = []
    for ch, n in chars:
        if ch.isspace():
            if current:
                words.append(current)
                current = []
                spaces.append((" ", n))
        else:
            current.append((ch, n))
    if current:
        words.append(current)
    lines: list[list[tuple[str, int]]] = []
    line: list[tuple[str, int]] = []
    used = 0.0
    for i, word in enumerate(words):
        w = width(word)
        gap = [spaces[i - 1]] if line and i else []
        extra = width(gap)
        if line and used + extra + w <= room:
            line += gap + word
            used += extra + w
            continue
        if line:
            lines.append(line)
            line, used = [], 0.0
        while w > room and len(word) > 1:  # a word longer than the line: break inside it
            cut, part = 0, 0.0
            while cut < len(word) - 1 and part + width(word[cut : cut + 1]) <= room:
                part += width(word[cut : cut + 1])
                cut += 1
            cut = max(cut, 1)
            lines.append(word[:cut])
            word = word[cut:]
            w = width(word)
        line, used = list(word), w
    if line:
        lines.append(line)
    return lines


class _Paragraph(Paragraph):
    """A Paragraph that breaks its lines once per width. ReportLab wraps the same paragraph
    again and again at the same width (a table measures its cells, keep-with-next measures
    the start of what follows, the frame measures before it draws), and breaking the lines
    was the largest cost of a report. The lines depend on the width only, so the answer for
    the last width is kept while the paragraph still holds the lines it gave."""

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        memo = self.__dict__.get("_wrapped")
        if (
            memo is not None
            and memo[0] == availWidth
            and memo[1] is self.frags
            and self.__dict__.get("blPara") is memo[2]
        ):
            self.width, self.height = availWidth, memo[3]
            return availWidth, memo[3]
        w, h = super().wrap(availWidth, availHeight)
        if "blPara" in self.__dict__:
            self._wrapped = (availWidth, self.frags, self.blPara, h)
        return w, h


class _BidiParagraph(_Paragraph):
    """A paragraph holding right-to-left text, laid out again for each width it is given."""

    def __init__(self, text: str, style: ParagraphStyle, *args: Any, **kwargs: Any) -> None:
        # Set by _paragraph(); the halves of a split arrive here with frags and no runs.
        self._runs: Sequence[Run] | None = kwargs.pop("runs", None)
        self._laid_for: float | None = None
        super().__init__(text, style, *args, **kwargs)

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        if self._runs is not None and self._laid_for != availWidth:
            s = self.style
            room = availWidth - s.leftIndent - s.rightIndent - max(s.firstLineIndent, 0) - 0.5
            runs, self._laid_for = self._runs, availWidth
            Paragraph.__init__(self, _rtl_lines(runs, s.fontSize, room), s, self.bulletText)
        return super().wrap(availWidth, availHeight)


@lru_cache(maxsize=32)
def _plain_frag(style: ParagraphStyle) -> ParaFrag | None:
    """The fragment ReportLab's parser makes for plain text in `style` (its text to be set),
    or None when the style transforms text and the parser must see it."""
    if getattr(style, "textTransform", None):
        return None
    _, frags, _ = ParaParser().parse("x", style)
    return frags[0] if frags and len(frags) == 1 else None


def _plain(markup: str, style: ParagraphStyle) -> Paragraph:
    """A Paragraph of `markup`; when it is plain text (no tags, no entities: most cells and
    lines), with the one fragment ReportLab's parser would make, without running the parser
    (an HTML parser per paragraph, the larger part of building a report's story)."""
    if "<" in markup or "&" in markup:
        return _Paragraph(markup, style)
    cleaned = cleanBlockQuotedText(markup)
    template = _plain_frag(style)
    if not cleaned or template is None:
        return _Paragraph(markup, style)
    frag = ParaFrag.__new__(ParaFrag)  # copy.copy(template), without copy's dispatch
    frag.__dict__.update(template.__dict__)
    frag.text = cleaned
    return _Paragraph(cleaned, style, frags=[frag])


@lru_cache(maxsize=32)
def _right_aligned(style: ParagraphStyle) -> ParagraphStyle:
    return ParagraphStyle(f"{style.name}-rtl", style, alignment=TA_RIGHT)


def _paragraph(runs: Sequence[Run], style: ParagraphStyle) -> Paragraph:
    """A Paragraph of plain text runs (escaped; never markup). Text with Arabic or Hebrew in
    it is wrapped in reading order, and set right-aligned when all of it reads right to left."""
    if len(runs) == 1:
        # One line of one run, every character in its font, none right to left (most
        # cells and lines): what text() gives for it, without its steps per line.
        value, bold = runs[0]
        cleaned = _clean(value)
        if (
            cleaned
            and "\n" not in cleaned
            and not _RTL.search(cleaned)
            and min(cleaned) >= " "
            and (not bold or style.fontName == BOLD)  # else the bold needs its font named
            and fonts()[BOLD if bold else BODY].issuperset(map(ord, cleaned))
        ):
            return _plain(escape(cleaned), style)
    markup = "".join(text(value, bold=bold) for value, bold in runs)
    if not any(_RTL.search(_clean(value)) for value, _ in runs):
        return _plain(markup, style)
    directions = {_direction(line) for value, _ in runs for line in _clean(value).split("\n")} - {
        None
    }
    if directions == {"R"}:
        style = _right_aligned(style)
    return _BidiParagraph(markup, style, runs=tuple(runs))


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
        # Headings go over to the next page with the start of what follows them (render()).
        "title": ParagraphStyle(
            "title", base, fontName=BOLD, fontSize=16, leading=20, keepWithNext=1
        ),
        "h2": ParagraphStyle(
            "h2",
            base,
            fontName=BOLD,
            fontSize=12,
            leading=16,
            spaceBefore=10,
            spaceAfter=4,
            keepWithNext=1,
        ),
        "h3": ParagraphStyle(
            "h3", base, fontName=BOLD, fontSize=10, leading=13, spaceBefore=6, keepWithNext=1
        ),
        "small": ParagraphStyle("small", base, fontSize=8, leading=10.5, textColor=MUTED),
        "quote": ParagraphStyle("quote", base, leftIndent=10, textColor=INK),
        "cell": ParagraphStyle("cell", base, fontSize=8.5, leading=11),
        "cellhead": ParagraphStyle("cellhead", base, fontName=BOLD, fontSize=8.5, leading=11),
        "warn": ParagraphStyle("warn", base, textColor=WARN, fontName=BOLD),
    }


def para(value: Any, style: str = "body", *, bold: bool = False) -> Paragraph:
    """A paragraph of plain text (escaped; never markup)."""
    return _paragraph([(value, bold)], styles()[style])


def labelled(label: str, value: Any, style: str = "body") -> Paragraph:
    """'Label: value' with the label in bold; both escaped."""
    return _paragraph([(label, True), (" ", False), (value, False)], styles()[style])


def table(
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    widths: Sequence[float | None] | None = None,
) -> Table:
    """A simple ruled table; every cell is escaped text. A row taller than the space left
    splits across pages (a note of any length prints), and each column is at least as wide
    as the longest word of its header, so no header word breaks."""
    s = styles()
    data: list[list[Any]] = [[_paragraph([(h, True)], s["cellhead"]) for h in header]]
    data += [[_paragraph([(c, False)], s["cell"]) for c in row] for row in rows]
    t = Table(
        data,
        colWidths=_header_widths(header, widths),
        repeatRows=1,
        hAlign="LEFT",
        splitInRow=1,
    )
    t.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), BODY),
                ("BACKGROUND", (0, 0), (-1, 0), SHADE),
                ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING),
                ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING),
            ]
        )
    )
    return t


CELL_PADDING = 4


def _header_widths(
    header: Sequence[str], widths: Sequence[float | None] | None
) -> list[float | None] | None:
    """The widths asked for, with any column too narrow for a word of its header widened,
    and the widest other fixed column narrowed by as much (a column left to ReportLab
    takes what is left)."""
    if widths is None:
        return None
    size = styles()["cellhead"].fontSize
    need = [
        max((pdfmetrics.stringWidth(w, BOLD, size) for w in str(h).split()), default=0)
        + 2 * CELL_PADDING
        + 0.5
        for h in header
    ]
    out = list(widths)
    short = 0.0
    for i, (w, n) in enumerate(zip(out, need, strict=True)):
        if w is not None and w < n:
            short += n - w
            out[i] = n
    if short and None not in out:
        wide = max(
            (i for i, w in enumerate(out) if w is not None and w - short >= need[i]),
            key=lambda i: out[i] or 0,
            default=None,
        )
        if wide is not None:
            out[wide] = (out[wide] or 0) - short
    return out


def gap(height_mm: float = 3) -> Spacer:
    return Spacer(1, height_mm * mm)


def keep(*items: Flowable) -> KeepTogether:
    return KeepTogether(list(items))


PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
# What a flowable may fill: the page less its margins and the frame's own padding (ReportLab's
# default, 6 pt a side); a table or chart as wide as the margins allow would stick out.
FRAME_PADDING = 6
FRAME_WIDTH = PAGE_WIDTH - 2 * MARGIN - 2 * FRAME_PADDING


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
    doc = _Document(
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


class _HeadingWithStart(KeepTogether):
    """Headings (keepWithNext) and what follows them: they move to the next page only when
    the start of what follows (all of it, or the first lines of a paragraph or rows of a
    table) would not fit under them. Keeping all of a long note with its heading would
    leave the rest of the page blank."""

    def split(self, aW: float, aH: float) -> list[Flowable]:
        *heads, tail = self._content
        content = list(self._content)
        frame = getattr(self, "_frame", None)
        if not heads or (frame is not None and getattr(frame, "_atTop", False)):
            return content
        used = 0.0
        for i, f in enumerate(heads):
            _, h = f.wrapOn(self.canv, aW, aH)
            used += h + (f.getSpaceBefore() if i else 0) + f.getSpaceAfter()
        rest = aH - used - tail.getSpaceBefore()
        if rest > 0:
            _, h = tail.wrapOn(self.canv, aW, rest)
            if h <= rest or tail.split(aW, rest):
                return content
        return [self.FrameBreak(), *content]


class _Document(SimpleDocTemplate):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, keepTogetherClass=_HeadingWithStart, **kwargs)

    def handle_keepWithNext(self, flowables: list[Flowable]) -> None:
        """Headings before a block kept together join that block (ReportLab would keep
        them with nothing, since a KeepTogether cannot be nested in another)."""
        i = 0
        while i < len(flowables) and flowables[i].getKeepWithNext() and _ktAllow(flowables[i]):
            i += 1
        if i and i < len(flowables) and type(flowables[i]) is KeepTogether:
            heads = flowables[:i]
            for f in heads:
                f.__dict__["keepWithNext"] = 0
            flowables[: i + 1] = [KeepTogether([*heads, *flowables[i]._content])]
            return
        super().handle_keepWithNext(flowables)


def _counting_canvas() -> Callable[..., Any]:
    """A canvas that knows the page count when it writes 'Page n of N'."""
    from reportlab.pdfgen.canvas import Canvas

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
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
