"""PDFs of lists in Chinese (reportlab). Every paper embeds (a subset of) one TrueType CJK font:
the WenQuanYi Micro Hei shipped in `resettle/fonts` (Apache-2.0), or the font RESETTLE_PDF_FONT
names. So a machine with no CJK font installed prints the same page, and no glyph is left to
the viewer to find."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from resettle.charts import FONT as CHART_FONT
from resettle.charts import bar_chart
from resettle.policy import PolicyError

SHIPPED_FONT = Path(__file__).parent / "fonts" / "wqy-microhei.ttc"
ROWS_PER_TABLE = 40  # long lists become page-sized tables: one huge table lays out slowly
CELL_SIZE, CELL_LEADING, CELL_PADDING = 8.5, 11, 4
MARGIN = 12 * mm
PORTRAIT_WIDTH = A4[0] - 2 * MARGIN  # points a portrait page's content may span, e.g. a chart
OVERDUE = colors.HexColor("#fed7d7")
LABEL = colors.HexColor("#edf2f7")
GRID = colors.HexColor("#a0aec0")
CHART_ROWS = 16  # label groups per bar chart: a portrait page holds this many bar pairs


@functools.cache
def font() -> str:
    """The registered font name to write with: RESETTLE_PDF_FONT when it names a TrueType file
    (.ttf, or the first face of a .ttc), else the shipped font."""
    chosen = os.environ.get("RESETTLE_PDF_FONT")
    if chosen and not Path(chosen).is_file():
        raise PolicyError(f"RESETTLE_PDF_FONT 指向的字体文件不存在：{chosen}")
    try:
        pdfmetrics.registerFont(TTFont("ResettleCJK", chosen or str(SHIPPED_FONT), subfontIndex=0))
    except TTFError as exc:
        raise PolicyError(f"RESETTLE_PDF_FONT 指向的不是可嵌入的 TrueType 字体（{chosen}）：{exc}") from None
    return "ResettleCJK"


@functools.cache
def styles() -> dict[str, ParagraphStyle]:
    """Paragraph styles in the CJK font: title and subtitle (also centred), heading, body, indented,
    signature (right-aligned), note (small, under a table), cell, head (white)."""
    name = font()
    cell = ParagraphStyle("cell", fontName=name, fontSize=CELL_SIZE, leading=CELL_LEADING, wordWrap="CJK")
    body = ParagraphStyle("body", fontName=name, fontSize=10.5, leading=16, wordWrap="CJK", spaceAfter=3)
    title = ParagraphStyle("title", fontName=name, fontSize=16, leading=22, wordWrap="CJK")
    subtitle = ParagraphStyle("subtitle", parent=cell, spaceAfter=4 * mm)
    return {"title": title, "subtitle": subtitle,
            "centred title": ParagraphStyle("centred title", parent=title, fontSize=20, leading=28,
                                            alignment=TA_CENTER),
            "centred subtitle": ParagraphStyle("centred subtitle", parent=subtitle, alignment=TA_CENTER),
            "heading": ParagraphStyle("heading", fontName=name, fontSize=12, leading=16, spaceBefore=6,
                                      spaceAfter=4, wordWrap="CJK"),
            "body": body, "indented": ParagraphStyle("indented", parent=body, leftIndent=8 * mm),
            "signature": ParagraphStyle("signature", parent=body, alignment=TA_RIGHT),
            "note": ParagraphStyle("note", parent=cell, spaceBefore=3 * mm), "cell": cell,
            "field": ParagraphStyle("field", parent=cell, fontSize=10, leading=14),
            "head": ParagraphStyle("head", parent=cell, textColor=colors.white)}


def markup(value: object) -> str:
    """Text as Paragraph markup: what a resident typed (<, &) shows as typed, line breaks kept."""
    return escape(str(value)).replace("\n", "<br/>")


def paragraph(text: str, style: str = "body") -> Paragraph:
    return Paragraph(markup(text), styles()[style])


def heading(text: str) -> Paragraph:
    return paragraph(text, "heading")


def table(columns: dict[str, str], rows: list[dict], widths: dict[str, float], *,
          right: tuple[str, ...] = ()) -> list[Flowable]:
    """Rows as page-sized tables under a repeated header; rows with a truthy "overdue" are red.
    `widths` in mm per key (25 when not given); the columns in `right` (amounts) align right. A
    cell that fits on one line is drawn as plain text: wrapping thousands of one-line Paragraphs
    is what makes long lists slow."""
    if not rows:
        return [paragraph("（无）", "cell")]
    st = styles()
    name = font()
    col_widths = [widths.get(key, 25) * mm for key in columns]
    room = [w - 2 * CELL_PADDING for w in col_widths]

    def cell(value: object, width: float, style: ParagraphStyle):
        text = "" if value is None else str(value)
        if "\n" not in text and stringWidth(text, name, CELL_SIZE) <= width:
            return text
        return Paragraph(markup(text), style)
    head = [cell(label, w, st["head"]) for label, w in zip(columns.values(), room, strict=True)]
    base = [("FONTNAME", (0, 0), (-1, -1), name), ("FONTSIZE", (0, 0), (-1, -1), CELL_SIZE),
            ("LEADING", (0, 0), (-1, -1), CELL_LEADING), ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING), ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING),
            ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#2b6cb0")),
            ("GRID", (0, 0), (-1, -1), 0.4, GRID)]
    base += [("ALIGN", (n, 1), (n, -1), "RIGHT") for n, key in enumerate(columns) if key in right]
    tables: list[Flowable] = []
    for start in range(0, len(rows), ROWS_PER_TABLE):
        chunk = rows[start:start + ROWS_PER_TABLE]
        data = [head, *([cell(row.get(key, ""), w, st["cell"]) for key, w in zip(columns, room, strict=True)]
                        for row in chunk)]
        style = base + [("BACKGROUND", (0, i), (-1, i), OVERDUE) for i, row in enumerate(chunk, 1)
                        if row.get("overdue")]
        tables.append(Table(data, colWidths=col_widths, repeatRows=1, style=TableStyle(style), splitInRow=1))
    return tables


def form(rows: list[list[object]], widths: list[float]) -> Table:
    """A printed form: each row alternates label (shaded) and value cells; a row with fewer cells
    than `widths` stretches its last cell to the right edge. `widths` in mm."""
    st = styles()["field"]
    data = []
    style = [("FONTNAME", (0, 0), (-1, -1), font()),  # a cell sets its font even when empty
             ("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("GRID", (0, 0), (-1, -1), 0.4, GRID),
             ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING), ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING)]
    for r, row in enumerate(rows):
        data.append([Paragraph(markup("" if v is None else v), st) for v in row] + [""] * (len(widths) - len(row)))
        if len(row) < len(widths):
            style.append(("SPAN", (len(row) - 1, r), (-1, r)))
        style += [("BACKGROUND", (c, r), (c, r), LABEL) for c in range(0, len(row) - 1, 2)]
    return Table(data, colWidths=[w * mm for w in widths], style=TableStyle(style))


def signatures(boxes: list[tuple[str, list[str]]], *, height: float = 42) -> Table:
    """Boxes side by side across a portrait page to sign and stamp, each a heading over its lines
    (经办人：____). `height` in mm."""
    line = ParagraphStyle("sign", parent=styles()["field"], spaceBefore=3 * mm)
    cells = [[heading(head), *(Paragraph(markup(text), line) for text in lines)] for head, lines in boxes]
    return Table([cells], colWidths=[PORTRAIT_WIDTH / len(boxes)] * len(boxes), rowHeights=[height * mm],
                 spaceBefore=6 * mm, style=TableStyle([
                     ("FONTNAME", (0, 0), (-1, -1), font()), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                     ("BOX", (0, 0), (-1, -1), 0.6, GRID),
                     ("INNERGRID", (0, 0), (-1, -1), 0.6, GRID), ("LEFTPADDING", (0, 0), (-1, -1), 3 * mm)]))


def bar_charts(title: str, labels: list[str], series: dict[str, list[float]]) -> list[Drawing]:
    """resettle.charts.bar_chart across a portrait page, in this PDF's font: one chart per
    CHART_ROWS labels, so that a long list of bar groups breaks over pages."""
    return [chart(bar_chart(title, labels[start:start + CHART_ROWS],
                            {name: values[start:start + CHART_ROWS] for name, values in series.items()},
                            width=int(PORTRAIT_WIDTH)))
            for start in range(0, max(1, len(labels)), CHART_ROWS)]


def chart(drawing: Drawing) -> Drawing:
    """A chart of resettle.charts as a flowable in this PDF's font. The charts write in reportlab's
    built-in STSong-Light (all an SVG page needs); here the embedded font replaces it, so the
    printed chart needs nothing from the viewer either."""
    name = font()
    drawing.initialFontName = name  # the renderer starts each drawing in Helvetica otherwise
    for node in drawing.contents:
        axes = [getattr(node, axis).labels for axis in ("categoryAxis", "valueAxis") if hasattr(node, axis)]
        for part in (node, *axes):
            if getattr(part, "fontName", None) == CHART_FONT:
                part.fontName = name
    return drawing


def build(path: str | Path, title: str, subtitle: str, story: list[Flowable], *, portrait: bool = False,
          centred: bool = False) -> Path:
    """A titled document of flowables (paragraphs, tables, charts), numbered at the foot of each
    page. Landscape suits wide lists; portrait suits notices and minutes; a notice centres its
    title (and subtitle)."""
    size = A4 if portrait else landscape(A4)
    name = font()

    def number(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(name, 8)
        canvas.drawCentredString(size[0] / 2, 7 * mm, f"第 {doc.page} 页")
        canvas.restoreState()
    st = styles()
    align = "centred " if centred else ""
    head = [Paragraph(markup(title), st[f"{align}title"]),
            Paragraph(markup(subtitle), st[f"{align}subtitle"]) if subtitle else Spacer(1, 4 * mm)]
    SimpleDocTemplate(str(path), pagesize=size, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                      bottomMargin=MARGIN, title=title,
                      # reportlab opens every page in Helvetica, which the PDF then names unembedded
                      initialFontName=name, lang="zh-CN").build(head + story, onFirstPage=number,
                                                                 onLaterPages=number)
    return Path(path)


def list_pdf(path: str | Path, title: str, subtitle: str,
             sections: list[tuple[str, dict[str, str], list[dict]]], widths: dict[str, float]) -> Path:
    """Sections of tables: (heading, {key: column header}, rows). `widths` in mm per key."""
    story: list[Flowable] = []
    for text, columns, rows in sections:
        story += [heading(text), *table(columns, rows, widths)]
    return build(path, title, subtitle, story)
