"""Page furniture: running header and "Page X of Y" footer, plus deterministic metadata.

"Of Y" is only known once the whole story is laid out, so pages are buffered and
their furniture drawn at save time. The creation date is pinned to the issue date
and reportlab runs in invariant mode, so the same invoice always yields the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from reportlab.lib import colors
from reportlab.pdfgen.canvas import Canvas

from billing_io.pdf_fonts import InvoiceFonts
from billing_io.pdf_styles import ACCENT, MUTED, RULE


@dataclass(frozen=True)
class PageFurniture:
    fonts: InvoiceFonts
    issuer_name: str
    document_label: str
    footer_left: str
    footer_centre: str
    watermark: str | None
    margin: float
    created: date


class InvoiceCanvas(Canvas):  # type: ignore[misc]
    def __init__(self, *args: Any, furniture: PageFurniture, **kwargs: Any) -> None:
        kwargs["invariant"] = 1
        super().__init__(*args, **kwargs)
        self._furniture = furniture
        self._pages: list[dict[str, Any]] = []
        created = furniture.created
        self.setDateFormatter(
            lambda *_: f"D:{created.year:04d}{created.month:02d}{created.day:02d}000000+00'00'"
        )

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self._draw_furniture(number, total)
            super().showPage()
        super().save()

    def _draw_furniture(self, number: int, total: int) -> None:
        furniture = self._furniture
        width, height = self._pagesize
        left, right = furniture.margin, width - furniture.margin
        self.saveState()
        if furniture.watermark:
            self.setFont(furniture.fonts.bold, 90)
            self.setFillColor(colors.Color(0.85, 0.2, 0.2, alpha=0.12))
            self.translate(width / 2, height / 2)
            self.rotate(40)
            self.drawCentredString(0, -30, furniture.watermark)
            self.rotate(-40)
            self.translate(-width / 2, -height / 2)
        top = height - furniture.margin * 0.55
        self.setFillColor(ACCENT)
        self.setFont(furniture.fonts.bold, 8)
        self.drawString(left, top, furniture.issuer_name)
        self.drawRightString(right, top, furniture.document_label)
        self.setStrokeColor(RULE)
        self.setLineWidth(0.6)
        self.line(left, top - 4, right, top - 4)
        bottom = furniture.margin * 0.5
        self.line(left, bottom + 10, right, bottom + 10)
        self.setFillColor(MUTED)
        self.setFont(furniture.fonts.regular, 7.5)
        self.drawString(left, bottom, furniture.footer_left)
        self.drawCentredString(width / 2, bottom, furniture.footer_centre)
        self.drawRightString(right, bottom, f"Page {number} of {total}")
        self.restoreState()
