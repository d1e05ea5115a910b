"""The printable return slip (PDF): the RMA number as a QR code and a Code 128 barcode, the
return address and instructions, and the items.

reportlab draws it without font files: its built-in CID font STSong-Light renders Chinese
addresses and product names.
"""

from __future__ import annotations

from io import BytesIO

from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode import code128, qr
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from afterdesk.rma.models import Rma, RmaItem

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def _lines(text: str, limit: int = 70) -> list[str]:
    out: list[str] = []
    for line in text.splitlines() or [""]:
        while len(line) > limit:
            out.append(line[:limit])
            line = line[limit:]
        out.append(line)
    return out


def return_slip_pdf(*, rma: Rma, items: list[RmaItem]) -> bytes:
    """The return slip of `rma` as PDF bytes (A4, one page)."""
    number = rma.case.number
    buffer = BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, pageCompression=0)
    pdf.setTitle(_("Return slip %s") % number)
    pdf.setAuthor("Afterdesk")
    pdf.setSubject(number)
    width, height = A4
    left, y = 20 * mm, height - 25 * mm

    pdf.setFont(FONT, 18)
    pdf.drawString(left, y, _("Return slip"))
    pdf.setFont(FONT, 14)
    y -= 10 * mm
    pdf.drawString(left, y, _("RMA number: %s") % number)

    qr_widget = qr.QrCodeWidget(number)
    x0, y0, x1, y1 = qr_widget.getBounds()
    size = 35 * mm
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(qr_widget)
    renderPDF.draw(drawing, pdf, width - left - size, height - 20 * mm - size)

    barcode = code128.Code128(number, barHeight=14 * mm, barWidth=0.35 * mm, humanReadable=True)
    y -= 22 * mm
    barcode.drawOn(pdf, left - 5 * mm, y)

    pdf.setFont(FONT, 11)
    y -= 14 * mm
    pdf.drawString(left, y, _("Send the parcel to:"))
    for line in _lines(rma.return_address):
        y -= 6 * mm
        pdf.drawString(left + 5 * mm, y, line)
    if rma.return_instructions:
        y -= 10 * mm
        pdf.drawString(left, y, _("Instructions:"))
        for line in _lines(rma.return_instructions, 80):
            y -= 6 * mm
            pdf.drawString(left + 5 * mm, y, line)
    y -= 10 * mm
    pdf.drawString(left, y, _("Items:"))
    for item in items:
        y -= 6 * mm
        text = f"{item.quantity} × {item.sku} {item.description}"
        if item.serial:
            text += f" (S/N {item.serial})"
        pdf.drawString(left + 5 * mm, y, text[:90])
    y -= 12 * mm
    pdf.setFont(FONT, 9)
    pdf.drawString(
        left,
        y,
        _("Printed %s. Put this slip inside the parcel and write the RMA number on the box.")
        % timezone.localtime().strftime("%Y-%m-%d %H:%M"),
    )
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
