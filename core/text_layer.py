"""A PDF page's text layer: read the words a page already carries, decide whether they are worth
keeping, and write OCR'd words back as an invisible layer (a searchable PDF).

Boxes are in page coordinates (see :mod:`archivist.core.words`): points, origin at the top-left
of the page as displayed. PDF user space (origin bottom-left, before /Rotate) is converted here
in both directions, so a word read back from a written layer lands where it was placed.
"""

from __future__ import annotations

import ctypes
import os
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import pypdfium2
import pypdfium2.raw as pdfium_c

from archivist.core.atomic_write import atomic_write
from archivist.core.document_errors import DocumentError, DocumentErrorCode
from archivist.core.pdf import load_page, open_pdf
from archivist.core.words import Word

# A page counts as having usable text when it carries at least this many real words (see
# has_usable_text); fewer is a title page, a scanner's stamp or a page number, and OCR is safer.
MIN_USABLE_WORDS = 8
# A text layer whose characters are this much unmapped glyphs is a broken font encoding.
MAX_GARBAGE_SHARE = 0.05
# The font of the invisible layer. A standard font needs no embedding but covers WinAnsi
# (Latin-1) only; other characters come out as "?"-like glyphs when read back.
_LAYER_FONT = b"Helvetica"


@dataclass(frozen=True, slots=True)
class _PageFrame:
    """Where a page's displayed area lies in PDF user space (its box and its /Rotate)."""

    left: float
    bottom: float
    width: float  # unrotated width of the page box, user space units
    height: float
    rotation: int  # quarter turns clockwise: 0..3

    @classmethod
    def of(cls, page: pypdfium2.PdfPage) -> _PageFrame:
        left, bottom, right, top = page.get_bbox()
        return cls(left, bottom, right - left, top - bottom, (page.get_rotation() // 90) % 4)

    def to_display(self, x: float, y: float) -> tuple[float, float]:
        """A point in user space -> page coordinates (points, top-left origin, rotated)."""
        u, v = x - self.left, y - self.bottom
        w, h = self.width, self.height
        return [(u, h - v), (v, u), (w - u, v), (h - v, w - u)][self.rotation]

    def to_user(self, x: float, y: float) -> tuple[float, float]:
        """The inverse of :meth:`to_display`."""
        w, h = self.width, self.height
        u, v = [(x, h - y), (y, x), (w - x, y), (w - y, h - x)][self.rotation]
        return u + self.left, v + self.bottom

    def direction_to_user(self, dx: float, dy: float) -> tuple[float, float]:
        """A direction (vector) in page coordinates -> user space."""
        x0, y0 = self.to_user(0.0, 0.0)
        x1, y1 = self.to_user(dx, dy)
        return x1 - x0, y1 - y0


def _is_separator(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) in ("Cc", "Zs", "Zl", "Zp")


def _read_words(textpage: pypdfium2.PdfTextPage, frame: _PageFrame) -> list[tuple[Word, list[int]]]:
    """Group a text page's characters into words; each with the indexes of its characters."""
    words: list[tuple[Word, list[int]]] = []
    chars: list[str] = []
    indexes: list[int] = []
    box = [0.0, 0.0, 0.0, 0.0]
    rect = pdfium_c.FS_RECTF()

    def flush() -> None:
        if chars:
            x0, y0, x1, y1 = box
            words.append((Word("".join(chars), x0, y0, x1, y1, confidence=1.0), list(indexes)))
            chars.clear()
            indexes.clear()

    for index in range(textpage.count_chars()):
        code = pdfium_c.FPDFText_GetUnicode(textpage.raw, index)
        char = chr(code) if 0 < code < 0x110000 else "\ufffd"
        if _is_separator(char) or unicodedata.category(char) == "Cs":
            flush()
            continue
        if not pdfium_c.FPDFText_GetLooseCharBox(textpage.raw, index, ctypes.byref(rect)):
            flush()
            continue
        xa, ya = frame.to_display(rect.left, rect.top)
        xb, yb = frame.to_display(rect.right, rect.bottom)
        x0, x1, y0, y1 = min(xa, xb), max(xa, xb), min(ya, yb), max(ya, yb)
        if chars:
            box = [min(box[0], x0), min(box[1], y0), max(box[2], x1), max(box[3], y1)]
        else:
            box = [x0, y0, x1, y1]
        chars.append(char)
        indexes.append(index)
    flush()
    return words


def extract_text_layer(pdf_path: str | os.PathLike[str], page_index: int) -> list[Word]:
    """The words of a page's own text layer, in the PDF's reading order, boxes in page points.

    Words are split at whitespace (the PDF's own or the one PDFium infers between distant
    characters); each box is the union of its characters' font boxes (ascent to descent).
    Confidence is 1.0. Raises :class:`DocumentError` (``BROKEN_PDF``, ``ENCRYPTED``,
    ``PAGE_OUT_OF_RANGE``).
    """
    with open_pdf(pdf_path) as pdf:
        page = load_page(pdf, page_index)
        try:
            frame = _PageFrame.of(page)
            textpage = page.get_textpage()
            try:
                return [word for word, _ in _read_words(textpage, frame)]
            finally:
                textpage.close()
        finally:
            page.close()


def _is_real_word(text: str) -> bool:
    alnum = sum(char.isalnum() for char in text)
    return alnum >= 2 and alnum * 2 >= len(text)


def _is_garbage(char: str) -> bool:
    return char == "\ufffd" or unicodedata.category(char) in ("Co", "Cn", "Cs", "Cc")


def has_usable_text(words: Sequence[Word], *, min_words: int = MIN_USABLE_WORDS) -> bool:
    """Whether a page's text layer is worth using instead of OCR.

    Usable means at least ``min_words`` real words (two or more letters or digits, and at least
    half of the word letters or digits) and at most 5 % unmapped characters (private-use
    or replacement glyphs, the sign of a font whose encoding was lost). A scanner's stamp or a
    lone page number is not usable.
    """
    characters = "".join(word.text for word in words)
    if not characters:
        return False
    garbage = sum(_is_garbage(char) for char in characters)
    if garbage > MAX_GARBAGE_SHARE * len(characters):
        return False
    return sum(_is_real_word(word.text) for word in words) >= min_words


def _layer_font_metrics(pdf: pypdfium2.PdfDocument) -> tuple[ctypes.c_void_p, float, float]:
    font = pdfium_c.FPDFText_LoadStandardFont(pdf.raw, _LAYER_FONT)
    if not font:
        raise RuntimeError("PDFium could not load its standard font")
    ascent, descent = ctypes.c_float(), ctypes.c_float()
    pdfium_c.FPDFFont_GetAscent(font, ctypes.c_float(1.0), ctypes.byref(ascent))
    pdfium_c.FPDFFont_GetDescent(font, ctypes.c_float(1.0), ctypes.byref(descent))
    return font, ascent.value, descent.value


def _wide_string(text: str) -> ctypes.Array[ctypes.c_char]:
    encoded = text.encode("utf-16-le") + b"\x00\x00"
    return ctypes.create_string_buffer(encoded, len(encoded))


def _handle(obj: object) -> int | None:
    return ctypes.cast(obj, ctypes.c_void_p).value  # type: ignore[arg-type]


def _add_invisible_words(
    pdf: pypdfium2.PdfDocument, page: pypdfium2.PdfPage, words: Sequence[Word]
) -> None:
    """Place each word as invisible text whose font box covers the word's box."""
    frame = _PageFrame.of(page)
    font, ascent, descent = _layer_font_metrics(pdf)
    baseline_dir = frame.direction_to_user(1.0, 0.0)
    up_dir = frame.direction_to_user(0.0, -1.0)
    placed: dict[int, tuple[ctypes.c_void_p, Word, tuple[float, float]]] = {}
    for word in words:
        text = word.text.strip()
        if not text:
            continue
        # The font box of a character spans ascent..descent times the font size.
        font_size = max(word.height, 0.5) / (ascent - descent)
        obj = pdfium_c.FPDFPageObj_CreateTextObj(pdf.raw, font, ctypes.c_float(font_size))
        # The trailing space keeps words apart for any reader, however close their boxes are.
        buffer = _wide_string(text + " ")
        pdfium_c.FPDFText_SetText(obj, ctypes.cast(buffer, ctypes.POINTER(pdfium_c.FPDF_WCHAR)))
        pdfium_c.FPDFTextObj_SetTextRenderMode(obj, pdfium_c.FPDF_TEXTRENDERMODE_INVISIBLE)
        origin = frame.to_user(word.x0, word.y1 + descent * font_size)
        pdfium_c.FPDFPageObj_Transform(obj, *baseline_dir, *up_dir, *origin)
        pdfium_c.FPDFPage_InsertObject(page.raw, obj)
        handle = _handle(obj)
        assert handle is not None
        placed[handle] = (obj, word, origin)
    _stretch_to_boxes(page, frame, placed)
    if not pdfium_c.FPDFPage_GenerateContent(page.raw):
        raise RuntimeError("PDFium could not write the page's new content")


def _stretch_to_boxes(
    page: pypdfium2.PdfPage,
    frame: _PageFrame,
    placed: dict[int, tuple[ctypes.c_void_p, Word, tuple[float, float]]],
) -> None:
    """Scale each placed word along its baseline so its characters span the word's box.

    The font's advance widths are only known to PDFium's text page, so the words are measured
    where they were placed, then stretched.
    """
    natural: dict[int, tuple[float, float]] = {}
    rect = pdfium_c.FS_RECTF()
    textpage = page.get_textpage()
    try:
        for _, indexes in _read_words(textpage, frame):
            owner = _handle(pdfium_c.FPDFText_GetTextObject(textpage.raw, indexes[0]))
            if owner not in placed:
                continue  # a word of the page's own content
            for index in indexes:
                pdfium_c.FPDFText_GetLooseCharBox(textpage.raw, index, ctypes.byref(rect))
                xa, _ = frame.to_display(rect.left, rect.top)
                xb, _ = frame.to_display(rect.right, rect.bottom)
                low, high = natural.get(owner, (min(xa, xb), max(xa, xb)))
                natural[owner] = (min(low, xa, xb), max(high, xa, xb))
    finally:
        textpage.close()
    for handle, (obj, word, (ox, oy)) in placed.items():
        low, high = natural.get(handle, (0.0, 0.0))
        if high - low <= 0 or word.width <= 0:
            continue
        k = word.width / (high - low)
        if frame.rotation % 2 == 0:  # baseline along user-space x
            pdfium_c.FPDFPageObj_Transform(obj, k, 0, 0, 1, ox - k * ox, 0)
        else:  # baseline along user-space y
            pdfium_c.FPDFPageObj_Transform(obj, 1, 0, 0, k, 0, oy - k * oy)


def write_searchable_pdf(
    src_pdf: str | os.PathLike[str],
    words_per_page: Sequence[Sequence[Word]],
    out_path: str | os.PathLike[str],
) -> list[int]:
    """Write a copy of ``src_pdf`` with an invisible text layer of the given words per page.

    ``words_per_page[i]`` holds page i's words in page coordinates and reading order; reading
    the output's text layer (:func:`extract_text_layer`) yields the same words, each near its
    box. A page is left unchanged when its list is empty or it already has a usable text layer
    (:func:`has_usable_text`); the visible content is never changed. Only characters of the
    WinAnsi (Latin-1) set read back exactly. The output is written atomically. Returns the
    indexes of the pages that got a layer. Raises ``ValueError`` when the number of lists is
    not the page count, and :class:`DocumentError` for an unreadable source.
    """
    with open_pdf(src_pdf) as pdf:
        if len(words_per_page) != len(pdf):
            raise ValueError(
                f"got words for {len(words_per_page)} pages, the PDF has {len(pdf)} pages"
            )
        written: list[int] = []
        for index, words in enumerate(words_per_page):
            if not words:
                continue
            page = load_page(pdf, index)
            try:
                textpage = page.get_textpage()
                try:
                    existing = [word for word, _ in _read_words(textpage, _PageFrame.of(page))]
                finally:
                    textpage.close()
                if has_usable_text(existing):
                    continue
                _add_invisible_words(pdf, page, words)
                written.append(index)
            finally:
                page.close()
        try:
            with atomic_write(out_path) as file:
                pdf.save(file)
        except pypdfium2.PdfiumError as error:
            raise DocumentError(
                DocumentErrorCode.BROKEN_PDF,
                "This PDF could not be saved with its text layer; export or scan it again.",
            ) from error
    return written
