"""PDFs of lists in Chinese (reportlab). A TrueType CJK font is embedded when one is found
(RESETTLE_PDF_FONT, or WenQuanYi Zen Hei from Debian's fonts-wqy-zenhei); otherwise reportlab's
built-in STSong-Light is used, which needs nothing installed but is not embedded."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

SYSTEM_FONTS = ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
                "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
ROWS_PER_TABLE = 40  # long lists become page-sized tables: one huge table lays out slowly


@functools.cache
def font() -> str:
    """The registered font name to write with."""
    for path in (os.environ.get("RESETTLE_PDF_FONT"), *SYSTEM_FONTS):
        if path and Path(path).exists():
            pdfmetrics.registerFont(TTFont("ResettleCJK", path, subfontIndex=0))
            return "ResettleCJK"
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return "STSong-Light"


def list_pdf(path: str | Path, title: str, subtitle: str,
             sections: list[tuple[str, dict[str, str], list[dict]]], widths: dict[str, float]) -> Path:
    """Sections of tables: (heading, {key: column header}, rows). `widths` in mm per key."""
    name = font()
    cell = ParagraphStyle("cell", fontName=name, fontSize=8.5, leading=11, wordWrap="CJK")
    head = ParagraphStyle("head", parent=cell, textColor=colors.white)
    heading = ParagraphStyle("heading", fontName=name, fontSize=12, leading=16, spaceBefore=6, spaceAfter=4)
    story = [Paragraph(title, ParagraphStyle("title", fontName=name, fontSize=16, leading=22)),
             Paragraph(subtitle, cell), Spacer(1, 4 * mm)]
    for text, columns, rows in sections:
        story.append(Paragraph(text, heading))
        if not rows:
            story.append(Paragraph("（无）", cell))
            continue
        col_widths = [widths.get(key, 25) * mm for key in columns]
        for start in range(0, len(rows), ROWS_PER_TABLE):
            data = [[Paragraph(label, head) for label in columns.values()]]
            data += [[Paragraph(str(row.get(key, "")), cell) for key in columns]
                     for row in rows[start:start + ROWS_PER_TABLE]]
            table = Table(data, colWidths=col_widths, repeatRows=1)
            style = [("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#2b6cb0")),
                     ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#a0aec0")),
                     ("VALIGN", (0, 0), (-1, -1), "TOP")]
            for i, row in enumerate(rows[start:start + ROWS_PER_TABLE], 1):
                if row.get("overdue"):
                    style.append(("BACKGROUND", (0, i), (-1, i), colors.HexColor("#fed7d7")))
            table.setStyle(TableStyle(style))
            story.append(table)
    SimpleDocTemplate(str(path), pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                      topMargin=12 * mm, bottomMargin=12 * mm, title=title).build(story)
    return Path(path)
