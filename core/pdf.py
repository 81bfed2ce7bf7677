"""PDF documents: validate an upload, describe its pages, render a page to pixels.

Everything downstream of an upload deals with PDFs only (images become PDFs with
:func:`archivist.core.images.image_to_pdf`). Opening a PDF reads its cross-reference table and
page tree, never all its pages' content, so a document of thousands of pages is cheap.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import pypdfium2
import pypdfium2.raw as pdfium_c
from PIL import Image

from archivist.core.atomic_write import atomic_write
from archivist.core.document_errors import DocumentError, DocumentErrorCode
from archivist.core.filetypes import FileType, detect_file_type
from archivist.core.images import (
    MAX_IMAGE_PIXELS,
    MAX_UPLOAD_PAGES,
    MAX_UPLOAD_PIXELS,
    ImageLimits,
    inspect_image,
)

MAX_PAGES = MAX_UPLOAD_PAGES
# The largest page the PDF format allows without UserUnit: 200 inches a side. A larger page
# is a trick (or a mistake); rendering it would only ever be shrunk to the pixel budget.
MAX_PAGE_POINTS = 14_400.0
# Render budget per page: an A3 page at 300 dpi (17.4 Mpx) fits; larger pages are rendered at a
# lower resolution. A 25 Mpx page costs ~100 MB in PDFium's BGRA buffer plus ~75 MB as RGB.
MAX_RENDER_PIXELS = 25_000_000
# Acrobat looks for %%EOF within the last 1024 bytes; a PDF without one was cut off.
_EOF_WINDOW = 1024


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    """What an upload holds: its type, page count and each page's displayed size in points."""

    file_type: FileType
    page_count: int
    page_sizes: list[tuple[float, float]]


@dataclass(frozen=True, slots=True)
class RenderedPage:
    """A rendered page and how it maps to page coordinates.

    ``scale`` is pixels per point (``dpi / 72``); a box in image pixels divided by it is in page
    points (see :func:`archivist.core.words.image_words_to_page`). ``dpi`` may be lower than
    asked for when the page exceeded the pixel budget.
    """

    image: Image.Image
    scale: float
    dpi: float


def _broken(detail: str) -> DocumentError:
    return DocumentError(
        DocumentErrorCode.BROKEN_PDF,
        f"This PDF is damaged{detail} and cannot be read; export or scan it again.",
    )


def _check_pdf_tail(path: str | os.PathLike[str]) -> None:
    with open(path, "rb") as file:
        file.seek(0, os.SEEK_END)
        size = file.tell()
        file.seek(max(0, size - _EOF_WINDOW))
        tail = file.read()
    if b"%%EOF" not in tail:
        raise _broken(" (the file is incomplete: it looks cut off)")


@contextlib.contextmanager
def open_pdf(
    path: str | os.PathLike[str], password: str | None = None, *, forms: bool = False
) -> Iterator[pypdfium2.PdfDocument]:
    """Open a PDF, turning PDFium's failures into :class:`DocumentError`.

    With ``forms``, its interactive form is loaded too (pages loaded afterwards draw their
    filled-in fields, and ``pdf.formenv`` reads their values); a form PDFium cannot load is
    left out, the pages still open. Raises ``ENCRYPTED`` (a password is needed, or the
    encryption is unsupported) or ``BROKEN_PDF``.
    """
    try:
        pdf = pypdfium2.PdfDocument(os.fspath(path), password=password)
    except pypdfium2.PdfiumError as error:
        code = getattr(error, "err_code", None)
        if code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
            raise DocumentError(
                DocumentErrorCode.ENCRYPTED,
                "This PDF is password-protected; remove the password and upload it again.",
            ) from error
        raise _broken("") from error
    try:
        if forms:
            with contextlib.suppress(pypdfium2.PdfiumError):
                pdf.init_forms()  # before any page is loaded, or that page has no form
        yield pdf
    finally:
        pdf.close()


def inspect_pdf(
    path: str | os.PathLike[str], *, max_pages: int = MAX_PAGES
) -> list[tuple[float, float]]:
    """Validate a PDF and return its pages' displayed sizes in points (rotation applied).

    Reads the page tree only (no page content). Raises :class:`DocumentError`:
    ``BROKEN_PDF`` (truncated file, no pages, a page the page tree cannot resolve),
    ``ENCRYPTED``, ``TOO_MANY_PAGES`` (more than ``max_pages`` pages), ``PAGE_TOO_LARGE`` (a
    side longer than 200 inches).
    """
    _check_pdf_tail(path)
    with open_pdf(path) as pdf:
        count = len(pdf)
        if count == 0:
            raise _broken(" (it has no pages)")
        if count > max_pages:
            raise DocumentError(
                DocumentErrorCode.TOO_MANY_PAGES,
                f"This PDF has {count} pages; at most {max_pages} are accepted. "
                "Split it into smaller documents.",
            )
        sizes: list[tuple[float, float]] = []
        for index in range(count):
            try:
                width, height = pdf.get_page_size(index)
            except pypdfium2.PdfiumError as error:
                raise _broken(f" (page {index + 1} is missing)") from error
            if not (width > 0 and height > 0):
                raise _broken(f" (page {index + 1} has no size)")
            if max(width, height) > MAX_PAGE_POINTS:
                raise DocumentError(
                    DocumentErrorCode.PAGE_TOO_LARGE,
                    f"Page {index + 1} is {width / 72:.0f} x {height / 72:.0f} inches; pages "
                    f"of at most {MAX_PAGE_POINTS / 72:.0f} inches a side are accepted.",
                )
            sizes.append((width, height))
    return sizes


def inspect_document(
    path: str | os.PathLike[str],
    *,
    max_pages: int = MAX_PAGES,
    max_image_pixels: int = MAX_IMAGE_PIXELS,
    max_total_pixels: int = MAX_UPLOAD_PIXELS,
) -> DocumentInfo:
    """Detect an upload's type by content and validate it; return its pages' sizes in points.

    Images have their limits (``max_image_pixels`` per frame, ``max_total_pixels`` for all
    frames, ``max_pages`` frames) checked on their headers before any pixel is decoded; then
    they are decoded frame by frame (so a corrupt TIFF frame is found now, not during OCR);
    their page size comes from their resolution (300 dpi when none is declared). Raises
    :class:`DocumentError` (every code in :class:`DocumentErrorCode` but
    ``PAGE_OUT_OF_RANGE`` and ``PAGE_TOO_COMPLEX``), or ``OSError`` when the file cannot be
    read.
    """
    file_type = detect_file_type(path)
    if file_type is FileType.PDF:
        sizes = inspect_pdf(path, max_pages=max_pages)
    else:
        limits = ImageLimits(max_image_pixels, max_total_pixels, max_pages)
        sizes = [frame.size_points for frame in inspect_image(path, limits)]
    return DocumentInfo(file_type, len(sizes), sizes)


def render_scale(
    width_pt: float, height_pt: float, dpi: float, max_pixels: int = MAX_RENDER_PIXELS
) -> float:
    """Pixels per point to render a page of this size at ``dpi`` within ``max_pixels``."""
    scale = dpi / 72.0
    pixels = width_pt * scale * height_pt * scale
    if pixels > max_pixels:
        scale *= (max_pixels / pixels) ** 0.5
    return scale


def render_page(
    pdf_path: str | os.PathLike[str],
    page_index: int,
    dpi: float = 300.0,
    *,
    max_pixels: int = MAX_RENDER_PIXELS,
    grayscale: bool = False,
) -> RenderedPage:
    """Render one page (0-based index) to an RGB (or ``L``) image, upright as displayed.

    Filled-in form fields are drawn (the form layer). A page too large for ``max_pixels`` at
    ``dpi`` is rendered at the highest resolution that fits; the returned ``scale`` says which.
    Raises :class:`DocumentError` (``BROKEN_PDF``, ``ENCRYPTED``, ``PAGE_OUT_OF_RANGE``) and
    ``ValueError`` for a non-positive ``dpi``.
    """
    if dpi <= 0:
        raise ValueError(f"dpi must be positive, not {dpi!r}")
    with open_pdf(pdf_path, forms=True) as pdf:
        page = load_page(pdf, page_index)
        try:
            width, height = page.get_size()
            # PDFium's bitmap is the page size times scale, rounded up: shave off float noise
            # (216 pt at 200 dpi is 600 px, not 601), then stay inside the pixel budget.
            scale = render_scale(width, height, dpi, max_pixels) * (1 - 1e-9)
            while math.ceil(width * scale) * math.ceil(height * scale) > max_pixels:
                scale *= 0.999
            bitmap = page.render(scale=scale, grayscale=grayscale, may_draw_forms=True)
            try:
                image = bitmap.to_pil()
                image = image.convert("L" if grayscale else "RGB")
            finally:
                bitmap.close()
        finally:
            page.close()
    image.info["dpi"] = (scale * 72.0, scale * 72.0)
    return RenderedPage(image, scale, scale * 72.0)


def load_page(pdf: pypdfium2.PdfDocument, page_index: int) -> pypdfium2.PdfPage:
    """Load page ``page_index`` (0-based) of an open PDF; the caller closes it.

    Raises :class:`DocumentError` (``PAGE_OUT_OF_RANGE``, ``BROKEN_PDF``).
    """
    if not 0 <= page_index < len(pdf):
        raise DocumentError(
            DocumentErrorCode.PAGE_OUT_OF_RANGE,
            f"Page {page_index + 1} does not exist; this document has {len(pdf)} pages.",
        )
    try:
        return pdf.get_page(page_index)
    except pypdfium2.PdfiumError as error:
        raise _broken(f" (page {page_index + 1} cannot be loaded)") from error


def turn_pages(
    src: str | os.PathLike[str], out: str | os.PathLike[str], turns: Mapping[int, int]
) -> None:
    """Write a copy of ``src`` to ``out`` (atomically) with page ``n`` (1-based) turned
    clockwise by ``turns[n]`` degrees more than it is shown now: its /Rotate, as a page edit's
    rotation sets it. Content, text layer and document parts (information, bookmarks, forms)
    are kept as they are.

    Raises ``ValueError`` for a turn that is not a multiple of 90 degrees and
    :class:`DocumentError` (``BROKEN_PDF``, ``ENCRYPTED``, ``PAGE_OUT_OF_RANGE``).
    """
    bad = [degrees for degrees in turns.values() if degrees % 90]
    if bad:
        raise ValueError(f"a page turns by a multiple of 90 degrees, not {bad[0]!r}")
    with open_pdf(src) as pdf:
        for number, degrees in turns.items():
            page = load_page(pdf, number - 1)
            try:
                page.set_rotation((page.get_rotation() + degrees) % 360)
            finally:
                page.close()
        try:
            with atomic_write(out) as file:
                pdf.save(file)
        except pypdfium2.PdfiumError as error:
            raise DocumentError(
                DocumentErrorCode.BROKEN_PDF,
                "This PDF could not be saved with its pages turned; export or scan it again.",
            ) from error
