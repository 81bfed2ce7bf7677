"""Builders for the documents these tests feed in: every file is generated, none is checked in.

The builders reach the tests through the ``samples`` fixture: with ``--import-mode=importlib``
a test module cannot import this conftest by name (``conftest`` is the top-level one).
"""

from __future__ import annotations

import ctypes
import io
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

import pypdfium2
import pypdfium2.raw as pdfium_c
import pytest
from PIL import Image, ImageDraw, ImageFont

from archivist.core.images import image_to_pdf


def text_image(
    lines: Sequence[str], size: tuple[int, int] = (600, 200), font_size: int = 32
) -> Image.Image:
    """A white grayscale picture with black text, one line per entry."""
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=font_size)
    for number, line in enumerate(lines):
        draw.text((20, 20 + number * int(font_size * 1.6)), line, fill=0, font=font)
    return image


def pdf_with_visible_text(
    path: Path, words: Sequence[tuple[str, float, float]], size: tuple[float, float] = (300, 200)
) -> None:
    """A one-page PDF with Helvetica 12 pt words, each at (x, baseline y) in top-left points."""
    pdf = pypdfium2.PdfDocument.new()
    page = pdf.new_page(*size)
    font = pdfium_c.FPDFText_LoadStandardFont(pdf.raw, b"Helvetica")
    for text, x, baseline in words:
        obj = pdfium_c.FPDFPageObj_CreateTextObj(pdf.raw, font, ctypes.c_float(12.0))
        encoded = text.encode("utf-16-le") + b"\x00\x00"
        buffer = ctypes.create_string_buffer(encoded, len(encoded))
        pdfium_c.FPDFText_SetText(obj, ctypes.cast(buffer, ctypes.POINTER(pdfium_c.FPDF_WCHAR)))
        pdfium_c.FPDFPageObj_Transform(obj, 1, 0, 0, 1, x, size[1] - baseline)
        pdfium_c.FPDFPage_InsertObject(page.raw, obj)
    assert pdfium_c.FPDFPage_GenerateContent(page.raw)
    page.close()
    pdf.save(str(path))
    pdf.close()


def blank_pdf(path: Path, sizes: Sequence[tuple[float, float]], rotation: int = 0) -> Path:
    pdf = pypdfium2.PdfDocument.new()
    for width, height in sizes:
        page = pdf.new_page(width, height)
        page.set_rotation(rotation)
        page.close()
    pdf.save(str(path))
    pdf.close()
    return path


def handmade_pdf(objects: Sequence[bytes], trailer_extra: bytes = b"") -> bytes:
    """A PDF from raw object bodies (object n is objects[n-1]) with a correct xref table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R %s>>\n" % (len(objects) + 1, trailer_extra))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` gray pixels but holds almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


class Samples:
    """The builders above, handed to tests by the ``samples`` fixture."""

    text_image = staticmethod(text_image)
    pdf_with_visible_text = staticmethod(pdf_with_visible_text)
    blank_pdf = staticmethod(blank_pdf)
    handmade_pdf = staticmethod(handmade_pdf)
    png_header_only = staticmethod(png_header_only)


@pytest.fixture
def samples() -> type[Samples]:
    return Samples


@pytest.fixture
def sample_pdf(tmp_path: Path) -> Path:
    """A two-page A4 PDF of rendered text pictures (a scan without text layer)."""
    path = tmp_path / "scan.tif"
    first = text_image(["Invoice 2024-0042"], size=(600, 200))
    second = text_image(["Second page"], size=(600, 200))
    first.save(path, save_all=True, append_images=[second], dpi=(150, 150))
    out = tmp_path / "scan.pdf"
    image_to_pdf(path, out)
    return out
