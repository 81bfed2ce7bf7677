"""Documents the pipeline tests upload: all generated here, none checked in."""

from __future__ import annotations

import ctypes
import io
from collections.abc import Sequence
from pathlib import Path

import pypdfium2
import pypdfium2.raw as pdfium_c
from PIL import Image, ImageDraw, ImageFont

TEXT_LAYER_WORDS = ["Quarterly", "report", "prepared", "for", "the", "archive", "of", "Archivist"]
SCANNED_LINES = [["INVOICE", "NUMBER", "4711"], ["TOTAL", "AMOUNT", "DUE"]]


def scanned_image(words: Sequence[str], size: tuple[int, int] = (900, 220)) -> Image.Image:
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    draw.text((40, 70), " ".join(words), fill=0, font=ImageFont.load_default(size=64))
    return image


def add_text_page(pdf: pypdfium2.PdfDocument, words: Sequence[str], size=(432, 144)) -> None:
    """A page whose text is real PDF text (Helvetica 14 pt), as a born-digital file has."""
    page = pdf.new_page(*size)
    font = pdfium_c.FPDFText_LoadStandardFont(pdf.raw, b"Helvetica")
    obj = pdfium_c.FPDFPageObj_CreateTextObj(pdf.raw, font, ctypes.c_float(14.0))
    encoded = " ".join(words).encode("utf-16-le") + b"\x00\x00"
    buffer = ctypes.create_string_buffer(encoded, len(encoded))
    pdfium_c.FPDFText_SetText(obj, ctypes.cast(buffer, ctypes.POINTER(pdfium_c.FPDF_WCHAR)))
    pdfium_c.FPDFPageObj_Transform(obj, 1, 0, 0, 1, 30, size[1] - 70)
    pdfium_c.FPDFPage_InsertObject(page.raw, obj)
    assert pdfium_c.FPDFPage_GenerateContent(page.raw)
    page.close()


def mixed_pdf(path: Path) -> Path:
    """Three pages: one with a text layer, two scanned images of known words (150 dpi)."""
    images = [scanned_image(words).convert("RGB") for words in SCANNED_LINES]
    scans = io.BytesIO()
    images[0].save(scans, "PDF", save_all=True, append_images=images[1:], resolution=150)
    pdf = pypdfium2.PdfDocument.new()
    add_text_page(pdf, TEXT_LAYER_WORDS)
    pdf.import_pages(pypdfium2.PdfDocument(scans.getvalue()))
    pdf.save(str(path))
    pdf.close()
    return path


def blank_pdf(path: Path, pages: int, size: tuple[float, float] = (72, 72)) -> Path:
    pdf = pypdfium2.PdfDocument.new()
    for _ in range(pages):
        pdf.new_page(*size).close()
    pdf.save(str(path))
    pdf.close()
    return path


def text_pdf(path: Path, pages: Sequence[Sequence[str]]) -> Path:
    pdf = pypdfium2.PdfDocument.new()
    for words in pages:
        add_text_page(pdf, words)
    pdf.save(str(path))
    pdf.close()
    return path
