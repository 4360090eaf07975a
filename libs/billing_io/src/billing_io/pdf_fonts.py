"""Embedded TrueType fonts for invoices.

The PDF standard fonts lack glyphs such as − × £ € ¥ in a portable way, so the
DejaVu fonts (Bitstream Vera licence, see fonts/LICENSE) ship inside the package
and are embedded (subset) in every invoice.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont


@dataclass(frozen=True)
class InvoiceFonts:
    regular: str = "BillingSans"
    bold: str = "BillingSans-Bold"
    mono: str = "BillingMono"


_FILES = {
    "BillingSans": "DejaVuSans.ttf",
    "BillingSans-Bold": "DejaVuSans-Bold.ttf",
    "BillingMono": "DejaVuSansMono.ttf",
}


def register_invoice_fonts() -> InvoiceFonts:
    """Register the fonts with reportlab once per process (its registry is process-wide)."""
    fonts = InvoiceFonts()
    registered = set(pdfmetrics.getRegisteredFontNames())
    package = resources.files("billing_io") / "fonts"
    for name, file_name in _FILES.items():
        if name not in registered:
            with resources.as_file(package / file_name) as path:
                pdfmetrics.registerFont(TTFont(name, str(path)))
    addMapping(fonts.regular, 0, 0, fonts.regular)
    addMapping(fonts.regular, 1, 0, fonts.bold)
    addMapping(fonts.regular, 0, 1, fonts.regular)
    addMapping(fonts.regular, 1, 1, fonts.bold)
    return fonts
