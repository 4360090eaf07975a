"""Colours, paragraph styles and table styles shared by every invoice section."""

from __future__ import annotations

from dataclasses import dataclass

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle

from billing_io.pdf_fonts import InvoiceFonts

INK = colors.HexColor("#1B2430")
MUTED = colors.HexColor("#5B6675")
ACCENT = colors.HexColor("#1F4E79")
ACCENT_LIGHT = colors.HexColor("#E8EFF7")
BAND = colors.HexColor("#F5F7FA")
RULE = colors.HexColor("#D3D9E0")
GOOD = colors.HexColor("#2E7D32")
BAD = colors.HexColor("#B3261E")

BODY_SIZE = 8.5
SMALL_SIZE = 7.5


@dataclass(frozen=True)
class InvoiceStyles:
    fonts: InvoiceFonts
    body: ParagraphStyle
    small: ParagraphStyle
    small_right: ParagraphStyle
    label: ParagraphStyle
    title: ParagraphStyle
    heading: ParagraphStyle
    subheading: ParagraphStyle
    issuer_name: ParagraphStyle
    mono: ParagraphStyle


def build_styles(fonts: InvoiceFonts) -> InvoiceStyles:
    body = ParagraphStyle(
        "InvoiceBody",
        fontName=fonts.regular,
        fontSize=BODY_SIZE,
        leading=11,
        textColor=INK,
        alignment=TA_LEFT,
    )
    small = ParagraphStyle("InvoiceSmall", parent=body, fontSize=SMALL_SIZE, leading=9.5, textColor=MUTED)
    return InvoiceStyles(
        fonts=fonts,
        body=body,
        small=small,
        small_right=ParagraphStyle("InvoiceSmallRight", parent=small, alignment=TA_RIGHT),
        label=ParagraphStyle("InvoiceLabel", parent=small, fontName=fonts.bold, textColor=MUTED),
        title=ParagraphStyle(
            "InvoiceTitle",
            parent=body,
            fontName=fonts.bold,
            fontSize=22,
            leading=26,
            textColor=ACCENT,
            alignment=TA_RIGHT,
        ),
        heading=ParagraphStyle(
            "InvoiceHeading",
            parent=body,
            fontName=fonts.bold,
            fontSize=12,
            leading=15,
            textColor=ACCENT,
            spaceBefore=10,
            spaceAfter=5,
        ),
        subheading=ParagraphStyle(
            "InvoiceSubheading",
            parent=body,
            fontName=fonts.bold,
            fontSize=10,
            leading=13,
            textColor=INK,
            spaceBefore=8,
            spaceAfter=2,
        ),
        issuer_name=ParagraphStyle(
            "InvoiceIssuer", parent=body, fontName=fonts.bold, fontSize=13, leading=16, textColor=INK
        ),
        mono=ParagraphStyle("InvoiceMono", parent=body, fontName=fonts.mono, fontSize=7.5, leading=9.5),
    )


def grid_table_style(fonts: InvoiceFonts, *, numeric_from: int, total_row: bool) -> list[tuple[object, ...]]:
    """A header band, light zebra rows and right-aligned numeric columns from `numeric_from` on."""
    commands: list[tuple[object, ...]] = [
        ("FONT", (0, 0), (-1, -1), fonts.regular, BODY_SIZE),
        ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        ("FONT", (0, 0), (-1, 0), fonts.bold, SMALL_SIZE),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("BACKGROUND", (0, 0), (-1, 0), ACCENT),
        ("ROWBACKGROUNDS", (0, 1), (-1, -2 if total_row else -1), [colors.white, BAND]),
        ("ALIGN", (numeric_from, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 5),
        ("LINEBELOW", (0, -1), (-1, -1), 0.5, RULE),
    ]
    if total_row:
        commands += [
            ("FONT", (0, -1), (-1, -1), fonts.bold, BODY_SIZE),
            ("LINEABOVE", (0, -1), (-1, -1), 0.8, INK),
            ("BACKGROUND", (0, -1), (-1, -1), ACCENT_LIGHT),
        ]
    return commands
