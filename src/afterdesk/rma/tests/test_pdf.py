"""The return slip PDF: a one-page PDF that carries the RMA number (text, Code 128, QR) and
draws Chinese with the built-in CID font."""

from __future__ import annotations

import re
from types import SimpleNamespace

from afterdesk.rma.pdf import return_slip_pdf

NUMBER = "AS-20261203-00042"


def _slip() -> bytes:
    rma = SimpleNamespace(
        case=SimpleNamespace(number=NUMBER),
        return_address="上海市浦东新区服务路88号\n售后退货中心 200120",
        return_instructions="请将配件一并寄回。",
    )
    items = [SimpleNamespace(quantity=2, sku="PHN-X1", description="手机 X1", serial="SN-1")]
    return return_slip_pdf(rma=rma, items=items)  # type: ignore[arg-type]


def test_it_is_a_one_page_pdf_with_the_number() -> None:
    pdf = _slip()
    assert pdf.startswith(b"%PDF-1.")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type /Page\b", pdf)) == 1
    # The document subject and the barcode's human-readable line (Helvetica, plain text).
    assert pdf.count(NUMBER.encode()) >= 2
    assert f"({NUMBER}) Tj".encode() in pdf


def test_chinese_is_drawn_with_the_cid_font() -> None:
    pdf = _slip()
    assert b"/BaseFont /STSong-Light" in pdf
    assert b"/Encoding /UniGB-UCS2-H" in pdf


def test_barcode_and_qr_encode_the_number() -> None:
    from reportlab.graphics.barcode import code128, qr

    assert qr.QrCodeWidget(NUMBER).value == NUMBER
    barcode = code128.Code128(NUMBER)
    barcode.validate()
    assert barcode.valid and barcode.value == NUMBER
