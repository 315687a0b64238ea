"""Charts drawn with reportlab's graphics, so that one drawing serves a page (as SVG) and,
later, a PDF (as a flowable)."""

from __future__ import annotations

import math
import re

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont

FONT = "STSong-Light"  # built into reportlab; a PDF can swap in an embedded TrueType font
PALETTE = (colors.HexColor("#2b6cb0"), colors.HexColor("#dd6b20"), colors.HexColor("#38a169"),
           colors.HexColor("#805ad5"))


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def round_step(top: float, ticks: int = 5) -> int:
    """A whole tick step of 1, 2 or 5 times a power of ten, giving at most about `ticks` ticks up
    to `top` (counts: 0, 20, 40 … rather than 0, 7, 14 …)."""
    rough = max(1.0, top / ticks)
    power = 10 ** math.floor(math.log10(rough))
    return int(next(m * power for m in (1, 2, 5, 10) if m * power >= rough))


def bar_chart(title: str, labels: list[str], series: dict[str, list[int]], *,
              width: int = 640) -> Drawing:
    """Horizontal bars, one group per label, one bar per series (e.g. 迁出户数, 迁入户数)."""
    font = _font()
    row = 14 * max(1, len(series)) + 6
    height = max(120, row * len(labels) + 70)
    drawing = Drawing(width, height)
    drawing.add(String(10, height - 18, title, fontName=font, fontSize=13))
    chart = HorizontalBarChart()
    chart.x, chart.y = 90, 30
    chart.width, chart.height = width - 120, height - 70
    chart.data = [list(reversed(values)) for values in series.values()] or [[0]]
    chart.categoryAxis.categoryNames = list(reversed(labels))
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 9
    chart.categoryAxis.labels.dx = -4
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.valueAxis.valueMin = 0
    top = max((v for values in series.values() for v in values), default=0)
    chart.valueAxis.valueStep = round_step(top)
    chart.valueAxis.labels.fontName = font  # digits too: a PDF embeds the one font it swaps in
    chart.valueAxis.labels.fontSize = 8
    chart.barSpacing, chart.groupSpacing = 1, 6
    for i in range(len(series)):
        chart.bars[i].fillColor = PALETTE[i % len(PALETTE)]
        chart.bars[i].strokeColor = None
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = width - 200, height - 10
    legend.fontName, legend.fontSize = font, 9
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.deltax = 90
    legend.colorNamePairs = [(PALETTE[i % len(PALETTE)], name) for i, name in enumerate(series)]
    drawing.add(legend)
    return drawing


def to_svg(drawing: Drawing) -> str:
    """The drawing as an inline <svg> element (no XML prolog, no style attributes)."""
    from reportlab.graphics import renderSVG

    text = renderSVG.drawToString(drawing)
    # Presentation attributes instead of style="…": a page whose Content-Security-Policy
    # forbids inline styles still colours the bars and anchors the labels.
    return _STYLE.sub(_attributes, text[text.index("<svg"):])


_STYLE = re.compile(r'style="([^"]*)"')


def _attributes(match: re.Match) -> str:
    pairs = (item.split(":", 1) for item in match[1].split(";") if ":" in item)
    return " ".join(f'{name.strip()}="{value.strip()}"' for name, value in pairs)
