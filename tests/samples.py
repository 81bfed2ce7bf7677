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


DEJAVU_SANS = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def font_text_pdf(
    path: Path, lines: Sequence[str], font_file: Path, font_size: float = 14.0
) -> Path:
    """One A4 page with each line set in an embedded TrueType font, glyphs placed left to right
    as PDF producers place them: a right-to-left line is written in visual order (reversed),
    so that it displays right. PDFium gives the font a ToUnicode map."""
    pdf = pypdfium2.PdfDocument.new()
    page = pdf.new_page(595, 842)
    data = font_file.read_bytes()
    buffer = ctypes.create_string_buffer(data, len(data))
    font = pdfium_c.FPDFText_LoadFont(
        pdf.raw, ctypes.cast(buffer, ctypes.POINTER(ctypes.c_uint8)), len(data),
        pdfium_c.FPDF_FONT_TRUETYPE, True,
    )  # fmt: skip
    assert font, f"PDFium could not load {font_file}"
    for number, line in enumerate(lines):
        visual = line[::-1] if _is_right_to_left(line) else line
        obj = pdfium_c.FPDFPageObj_CreateTextObj(pdf.raw, font, ctypes.c_float(font_size))
        encoded = visual.encode("utf-16-le") + b"\x00\x00"
        text = ctypes.create_string_buffer(encoded, len(encoded))
        pdfium_c.FPDFText_SetText(obj, ctypes.cast(text, ctypes.POINTER(pdfium_c.FPDF_WCHAR)))
        pdfium_c.FPDFPageObj_Transform(obj, 1, 0, 0, 1, 40, 780 - number * font_size * 1.6)
        pdfium_c.FPDFPage_InsertObject(page.raw, obj)
    assert pdfium_c.FPDFPage_GenerateContent(page.raw)
    page.close()
    pdf.save(str(path))
    pdf.close()
    return path


def nested_forms_pdf(depth: int = 11, fanout: int = 4) -> bytes:
    """A 3 KB one-page PDF whose page draws a form that draws the form below it ``fanout``
    times, ``depth`` levels deep: 4**11 drawings, over 2 GB and 40 s in PDFium."""
    forms = []
    for level in range(depth):
        if level == 0:
            content, resources = b"0 0 m 10 10 l S", b""
        else:
            content = b" ".join([b"q 1 0 0 1 0.1 0.1 cm /F Do Q"] * fanout)
            resources = b"/Resources << /XObject << /F %d 0 R >> >>" % (4 + level)
        forms.append(
            b"<< /Type /XObject /Subtype /Form /BBox [0 0 600 800] %s /Length %d >>\n"
            b"stream\n%s\nendstream" % (resources, len(content), content)
        )
    return _raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 600 800] /Contents 4 0 R "
            b"/Resources << /XObject << /F %d 0 R >> >> >>" % (4 + depth),
            b"<< /Length 5 >>\nstream\n/F Do\nendstream",
            *forms,
        ]
    )


def pdf_with_a_bomb_page(path: Path, words: Sequence[Sequence[str]]) -> Path:
    """Text pages with ``words``, and the nested-forms page of :func:`nested_forms_pdf` second."""
    pdf = pypdfium2.PdfDocument.new()
    for page_words in words:
        add_text_page(pdf, page_words)
    bomb = pypdfium2.PdfDocument(nested_forms_pdf())
    pdf.import_pages(bomb, index=1)
    pdf.save(str(path))
    bomb.close()
    pdf.close()
    return path


def _is_right_to_left(text: str) -> bool:
    import unicodedata

    return any(unicodedata.bidirectional(char) in ("R", "AL") for char in text)


def cid_font_pdf(
    path: Path, runs: Sequence[tuple[str, float, float]], font_size: float = 24.0
) -> Path:
    """One A4 page of text runs (text, x, y from the top) in a CID font with a ToUnicode map
    and no embedded glyphs (as older Japanese PDFs are made): its text layer reads exactly on
    any machine, whatever fonts it has."""
    chars = sorted({char for text, _, _ in runs for char in text if not char.isspace()})
    cid = {char: number for number, char in enumerate(chars, start=1)}
    mapping = "\n".join(f"<{cid[char]:04X}> <{ord(char):04X}>" for char in chars)
    cmap = (
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
        "1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
        f"{len(chars)} beginbfchar\n{mapping}\nendbfchar\n"
        "endcmap CMapName currentdict /CMap defineresource pop end end\n"
    )
    content = "\n".join(
        f"BT /F1 {font_size} Tf {x} {842 - y} Td <{''.join(f'{cid[c]:04X}' for c in text)}> Tj ET"
        for text, x, y in runs
    )
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type0 /BaseFont /MS-Gothic /Encoding /Identity-H "
        "/DescendantFonts [6 0 R] /ToUnicode 7 0 R >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /MS-Gothic /DW 1000 "
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
        "/FontDescriptor 8 0 R >>",
        f"<< /Length {len(cmap)} >>\nstream\n{cmap}\nendstream",
        "<< /Type /FontDescriptor /FontName /MS-Gothic /Flags 4 /FontBBox [0 -141 1000 859] "
        "/ItalicAngle 0 /Ascent 859 /Descent -141 /CapHeight 700 /StemV 80 >>",
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    path.write_bytes(bytes(out))
    return path


def image_pdf(path: Path, image: Image.Image, resolution: float = 150.0) -> Path:
    """A one-page PDF that is just this picture (a scan)."""
    image.convert("RGB").save(path, "PDF", resolution=resolution)
    return path


# Two columns of a page: each line of LEFT stands beside the same line of RIGHT.
LEFT = [
    "Archives keep letters and",
    "contracts safe for many",
    "years after signing them",
    "while people still need",
]
RIGHT = [
    "Search finds every page",
    "by words printed on paper",
    "even when scanned badly",
    "from old office folders",
]


def two_column_page(
    left: Sequence[str], right: Sequence[str], size: tuple[int, int], font_size: int, gutter: int
) -> Image.Image:
    """A scan of two columns of text lines, side by side, lines aligned across the gutter."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=font_size)
    column = (size[0] - gutter) // 2
    for number, (a, b) in enumerate(zip(left, right, strict=True)):
        y = 20 + number * int(font_size * 1.6)
        draw.text((16, y), a, fill="black", font=font)
        draw.text((16 + column + gutter // 2, y), b, fill="black", font=font)
    return image


def _raw_pdf(objects: Sequence[bytes]) -> bytes:
    """A PDF from raw object bodies (object n is objects[n-1]) with a correct xref table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def form_pdf(
    path: Path, fields: Sequence[tuple[str, str, tuple[float, float, float, float]]], **flags: int
) -> Path:
    """A US Letter page with filled-in AcroForm text fields ``(name, value, rect)`` (rect in
    PDF user space), without appearance streams (/NeedAppearances), as form fillers save
    them; ``flags`` gives a field its /Ff bits by name."""
    import pikepdf
    from pikepdf import Array, Dictionary, Name, String

    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    page = pdf.pages[0]
    helvetica = Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica)
    widgets = []
    for name, value, rect in fields:
        widget = Dictionary(
            Type=Name.Annot, Subtype=Name.Widget, FT=Name.Tx, T=String(name), V=String(value),
            Rect=Array(list(rect)), F=4, DA=String("/Helv 12 Tf 0 g"), P=page.obj,
            Ff=flags.get(name, 0),
        )  # fmt: skip
        widgets.append(pdf.make_indirect(widget))
    page.obj.Annots = Array(widgets)
    pdf.Root.AcroForm = Dictionary(
        Fields=Array(widgets), NeedAppearances=True, DA=String("/Helv 12 Tf 0 g"),
        DR=Dictionary(Font=Dictionary(Helv=pdf.make_indirect(helvetica))),
    )  # fmt: skip
    pdf.save(path)
    return path
