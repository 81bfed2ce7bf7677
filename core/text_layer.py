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

# A page that is mostly picture (a scan) keeps its text layer only when it carries at least this
# many real words (see has_usable_text): fewer is a scanner's stamp or a page number on the
# picture, and OCR reads the picture better. A page that is not a picture keeps any real text.
MIN_WORDS_ON_SCAN = 8
# A page whose images cover at least this share of it is a scan (or a photo of a page).
SCAN_IMAGE_SHARE = 0.5
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


@dataclass(frozen=True, slots=True)
class TextLayer:
    """A page's own text layer and what tells whether to trust it (see :func:`is_usable`).

    ``unmapped`` counts the characters whose font gives no Unicode for them (no ToUnicode map,
    as PDFium reports it); ``image_share`` is the share of the page that images cover (about
    1.0 for a scan).
    """

    words: list[Word]
    unmapped: int = 0
    image_share: float = 0.0

    @property
    def is_scan(self) -> bool:
        return self.image_share >= SCAN_IMAGE_SHARE


def _image_share(page: pypdfium2.PdfPage) -> float:
    """The share of the page's area that image objects cover (overlaps counted twice; <= 1)."""
    left, bottom, right, top = page.get_bbox()
    area = (right - left) * (top - bottom)
    if area <= 0:
        return 0.0
    covered = 0.0
    for obj in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,)):
        x0, y0, x1, y1 = obj.get_bounds()
        width = min(x1, right) - max(x0, left)
        height = min(y1, top) - max(y0, bottom)
        if width > 0 and height > 0:
            covered += width * height
    return min(covered / area, 1.0)


def _unmapped_chars(textpage: pypdfium2.PdfTextPage) -> int:
    return sum(
        pdfium_c.FPDFText_HasUnicodeMapError(textpage.raw, index) == 1
        for index in range(textpage.count_chars())
    )


# Form fields whose value is text a person typed or chose; check boxes and buttons say "Yes".
_TEXT_FIELDS = (
    pdfium_c.FPDF_FORMFIELD_TEXTFIELD,
    pdfium_c.FPDF_FORMFIELD_COMBOBOX,
    pdfium_c.FPDF_FORMFIELD_LISTBOX,
)
_FIELD_PASSWORD = 1 << 13  # a text field's Ff bit: its value must never be read out
_ANNOT_HIDDEN = 1 << 1  # an annotation's F bit
_FIELD_PADDING = 2.0  # points between a field's border and its text


def _field_value(form: object, annot: object) -> str:
    size = pdfium_c.FPDFAnnot_GetFormFieldValue(form, annot, None, 0)
    if size <= 2:
        return ""
    buffer = ctypes.create_string_buffer(size)
    pdfium_c.FPDFAnnot_GetFormFieldValue(
        form, annot, ctypes.cast(buffer, ctypes.POINTER(pdfium_c.FPDF_WCHAR)), size
    )
    return buffer.raw[: size - 2].decode("utf-16-le", errors="replace")


def _value_words(value: str, box: tuple[float, float, float, float]) -> list[Word]:
    """Words of a field's value laid out in its box: one band per line, characters of an
    even width (the value's glyphs are not in the page's text, so boxes are estimated)."""
    x0, y0, x1, y1 = box
    lines = [line for line in value.splitlines() if line.strip()] or [value]
    band = (y1 - y0) / len(lines)
    words: list[Word] = []
    for number, line in enumerate(lines):
        top = y0 + number * band
        width = max(x1 - x0 - 2 * _FIELD_PADDING, 1.0)
        char = min(band * 0.5, width / max(len(line), 1))
        offset = 0
        for piece in line.split():
            start = line.index(piece, offset)
            offset = start + len(piece)
            left = x0 + _FIELD_PADDING + start * char
            words.append(Word(piece, left, top, left + len(piece) * char, top + band, 1.0))
    return words


def _form_words(
    pdf: pypdfium2.PdfDocument, page: pypdfium2.PdfPage, frame: _PageFrame
) -> list[Word]:
    """The filled-in values of the page's visible text, choice and list fields, as words in
    their fields' boxes; password fields are left out. Empty without a loaded form."""
    form = getattr(pdf, "formenv", None)
    if form is None:
        return []
    words: list[Word] = []
    rect = pdfium_c.FS_RECTF()
    for index in range(pdfium_c.FPDFPage_GetAnnotCount(page.raw)):
        annot = pdfium_c.FPDFPage_GetAnnot(page.raw, index)
        if not annot:
            continue
        try:
            if pdfium_c.FPDFAnnot_GetSubtype(annot) != pdfium_c.FPDF_ANNOT_WIDGET:
                continue
            if pdfium_c.FPDFAnnot_GetFormFieldType(form.raw, annot) not in _TEXT_FIELDS:
                continue
            if pdfium_c.FPDFAnnot_GetFormFieldFlags(form.raw, annot) & _FIELD_PASSWORD:
                continue
            if pdfium_c.FPDFAnnot_GetFlags(annot) & _ANNOT_HIDDEN:
                continue
            value = _field_value(form.raw, annot).strip()
            if not value or not pdfium_c.FPDFAnnot_GetRect(annot, ctypes.byref(rect)):
                continue
            xa, ya = frame.to_display(rect.left, rect.top)
            xb, yb = frame.to_display(rect.right, rect.bottom)
            box = (min(xa, xb), min(ya, yb), max(xa, xb), max(ya, yb))
            words.extend(_value_words(value, box))
        finally:
            pdfium_c.FPDFPage_CloseAnnot(annot)
    return words


def read_text_layer(pdf_path: str | os.PathLike[str], page_index: int) -> TextLayer:
    """A page's text layer (as :func:`extract_text_layer`) with what judges it: unmapped
    characters and how much of the page is picture. The values of filled-in form fields
    follow the page's own words (see :func:`_form_words`).

    Raises :class:`DocumentError` (``BROKEN_PDF``, ``ENCRYPTED``, ``PAGE_OUT_OF_RANGE``).
    """
    with open_pdf(pdf_path, forms=True) as pdf:
        page = load_page(pdf, page_index)
        try:
            frame = _PageFrame.of(page)
            textpage = page.get_textpage()
            try:
                words = [word for word, _ in _read_words(textpage, frame)]
                unmapped = _unmapped_chars(textpage)
            finally:
                textpage.close()
            words += _form_words(pdf, page, frame)
            return TextLayer(words, unmapped, _image_share(page))
        finally:
            page.close()


def extract_text_layer(pdf_path: str | os.PathLike[str], page_index: int) -> list[Word]:
    """The words of a page's own text layer, in the PDF's reading order, boxes in page points.

    Words are split at whitespace (the PDF's own or the one PDFium infers between distant
    characters); each box is the union of its characters' font boxes (ascent to descent).
    Right-to-left text (Hebrew, Arabic) comes in logical order: PDFium reorders the glyphs,
    which a PDF places left to right. Confidence is 1.0. Raises :class:`DocumentError`
    (``BROKEN_PDF``, ``ENCRYPTED``, ``PAGE_OUT_OF_RANGE``).
    """
    return read_text_layer(pdf_path, page_index).words


# Scripts written without spaces between words: each character counts as a word.
_UNSPACED_SCRIPTS = (
    "CJK UNIFIED",
    "CJK COMPATIBILITY",
    "HIRAGANA",
    "KATAKANA",
    "HALFWIDTH KATAKANA",
    "HANGUL",
)


def _is_unspaced(char: str) -> bool:
    return unicodedata.name(char, "").startswith(_UNSPACED_SCRIPTS)


def _count_words(text: str) -> int:
    """Real words in one text-layer word: each CJK character, plus one for the rest when it is
    a real word by Latin standards (see :func:`_is_real_word`)."""
    unspaced = sum(_is_unspaced(char) for char in text)
    rest = "".join(char for char in text if not _is_unspaced(char))
    return unspaced + (1 if rest and _is_real_word(rest) else 0)


def _is_real_word(text: str) -> bool:
    alnum = sum(char.isalnum() for char in text)
    return alnum >= 2 and alnum * 2 >= len(text)


def _is_garbage(char: str) -> bool:
    return char == "\ufffd" or unicodedata.category(char) in ("Co", "Cn", "Cs", "Cc")


def has_usable_text(words: Sequence[Word], *, scan: bool = True, unmapped: int = 0) -> bool:
    """Whether a page's text layer is worth using instead of OCR.

    Usable means: at most 5 % garbage characters (private-use or replacement glyphs, or
    ``unmapped`` ones whose font has no Unicode map: the sign of a lost encoding), and real
    words: on a ``scan`` (a page that is mostly picture) at least ``MIN_WORDS_ON_SCAN`` of
    them, elsewhere at least one. A real word has two or more letters or digits that make up at
    least half of it; in Chinese, Japanese and Korean each character counts as a word. So a
    born-digital page keeps its text however short, while a scanner's stamp or a page number
    on a scan is not usable and the picture is OCR'd.
    """
    characters = "".join(word.text for word in words)
    if not characters:
        return False
    garbage = sum(_is_garbage(char) for char in characters) + unmapped
    if garbage > MAX_GARBAGE_SHARE * len(characters):
        return False
    needed = MIN_WORDS_ON_SCAN if scan else 1
    return sum(_count_words(word.text) for word in words) >= needed


def is_usable(layer: TextLayer) -> bool:
    """Whether this text layer is worth using instead of OCR (see :func:`has_usable_text`)."""
    return has_usable_text(layer.words, scan=layer.is_scan, unmapped=layer.unmapped)


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
    (:func:`is_usable`); the visible content is never changed. Only characters of the
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
                    existing = TextLayer(
                        [word for word, _ in _read_words(textpage, _PageFrame.of(page))],
                        _unmapped_chars(textpage),
                        _image_share(page),
                    )
                finally:
                    textpage.close()
                if is_usable(existing):
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
