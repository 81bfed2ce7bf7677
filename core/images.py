"""Scanned images (JPEG, PNG, multi-page TIFF): validate them, turn them into PDFs, and make the
preview pictures a person sees in lists and viewers.

Every image is checked against limits read from its headers before any pixel is decoded: each
frame's pixels, the pixels of all frames together and the number of frames, so a file that
declares 100000 x 100000 px, or a 51 KiB TIFF of eight 10000 x 10000 px fax pages, is refused
without allocating it. Conversion to PDF holds one decoded frame at a time.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

import pypdfium2
from PIL import Image, ImageOps, UnidentifiedImageError

from archivist.core.atomic_write import atomic_write
from archivist.core.document_errors import DocumentError, DocumentErrorCode
from archivist.core.filetypes import FileType, detect_file_type
from archivist.core.storage import Storage

DEFAULT_DPI = 300.0
# An A0 scan at 300 dpi is 139 Mpx. Pillow refuses anything above twice its own limit
# (2 x 89.5 Mpx) during Image.open already, so a larger limit here would never apply.
MAX_IMAGE_PIXELS = 150_000_000
# All frames of one upload together (ARCHIVIST_MAX_UPLOAD_PIXELS): about 57 colour A4 pages at
# 300 dpi. Decoding and compressing costs CPU time in proportion, in the API process.
MAX_UPLOAD_PIXELS = 500_000_000
# Frames (pages) of one upload (ARCHIVIST_MAX_UPLOAD_PAGES); PDFs have the same limit.
MAX_UPLOAD_PAGES = 10_000
# A resolution outside this range is a placeholder or a mistake, not the scan's real density.
_PLAUSIBLE_DPI = (10.0, 10_000.0)
# What Pillow raises for a file it cannot decode: truncated data, a broken decoder stream, a
# header that contradicts itself.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError)

PREVIEW_SIZES: Mapping[str, int] = {"thumbnail": 200, "medium": 800, "large": 1600}
"""Preview name -> longest edge in pixels."""


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """What one uploaded image may hold: pixels per frame, pixels of all frames, frames."""

    max_pixels: int = MAX_IMAGE_PIXELS
    max_total_pixels: int = MAX_UPLOAD_PIXELS
    max_frames: int = MAX_UPLOAD_PAGES


@dataclass(frozen=True, slots=True)
class ImageFrame:
    """One frame (page) of an image file: its size in pixels and its resolution."""

    width_px: int
    height_px: int
    dpi_x: float
    dpi_y: float

    @property
    def size_points(self) -> tuple[float, float]:
        """Width and height of the page this frame becomes, in PDF points."""
        return self.width_px * 72.0 / self.dpi_x, self.height_px * 72.0 / self.dpi_y


def _corrupt(detail: str = "") -> DocumentError:
    return DocumentError(
        DocumentErrorCode.CORRUPT_IMAGE,
        f"This image is damaged and cannot be read{detail}; scan or export it again.",
    )


def _too_large(width: int, height: int, max_pixels: int) -> DocumentError:
    return DocumentError(
        DocumentErrorCode.IMAGE_TOO_LARGE,
        f"This image is too large ({width} x {height} pixels; at most "
        f"{max_pixels // 1_000_000} megapixels per page); scan it at a lower resolution.",
    )


def _too_many_frames(max_frames: int) -> DocumentError:
    return DocumentError(
        DocumentErrorCode.TOO_MANY_PAGES,
        f"This image has more than {max_frames} pages; split it into smaller documents.",
    )


def _too_many_pixels(total: int, max_total: int) -> DocumentError:
    return DocumentError(
        DocumentErrorCode.IMAGE_TOO_LARGE,
        f"This image's pages hold {total // 1_000_000} megapixels together; at most "
        f"{max_total // 1_000_000} are accepted in one upload. Split it or scan at a lower "
        "resolution.",
    )


def scan_frames(image: Image.Image, limits: ImageLimits) -> list[tuple[int, int]]:
    """Every frame's size in pixels, read from the frame headers only (no pixel is decoded).

    Stops at the first limit passed, so a file declaring a million frames costs no more than
    ``limits.max_frames`` header reads. Raises :class:`DocumentError`: ``TOO_MANY_PAGES``,
    ``IMAGE_TOO_LARGE`` (a frame or all frames together), ``CORRUPT_IMAGE`` (a frame header
    that cannot be read, or a frame of no pixels).
    """
    sizes: list[tuple[int, int]] = []
    total = 0
    index = 0
    while True:
        try:
            # Seeking reads the next frame's header (a TIFF directory); decoding waits for load().
            image.seek(index)
        except EOFError:
            break
        except _DECODE_ERRORS as error:
            raise _corrupt(f" (page {index + 1})") from error
        if index >= limits.max_frames:
            raise _too_many_frames(limits.max_frames)
        width, height = image.size
        if width <= 0 or height <= 0:
            raise _corrupt(f" (page {index + 1})")
        if width * height > limits.max_pixels:
            raise _too_large(width, height, limits.max_pixels)
        total += width * height
        if total > limits.max_total_pixels:
            raise _too_many_pixels(total, limits.max_total_pixels)
        sizes.append((width, height))
        index += 1
    if index:
        image.seek(0)
    return sizes


@contextlib.contextmanager
def open_image(
    path: str | os.PathLike[str], *, max_pixels: int = MAX_IMAGE_PIXELS
) -> Iterator[Image.Image]:
    """Open an image lazily (header only) after checking its declared size.

    Raises :class:`DocumentError` with ``IMAGE_TOO_LARGE`` or ``CORRUPT_IMAGE``.
    """
    try:
        with warnings.catch_warnings():
            # Pillow warns above its own pixel limit; we enforce ours just below instead.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path, formats=["JPEG", "PNG", "TIFF"])
    except Image.DecompressionBombError as error:
        raise DocumentError(
            DocumentErrorCode.IMAGE_TOO_LARGE,
            "This image is too large to process; scan it at a lower resolution.",
        ) from error
    except UnidentifiedImageError as error:
        raise _corrupt() from error
    except _DECODE_ERRORS as error:
        raise _corrupt() from error
    with image:
        width, height = image.size
        if width * height > max_pixels:
            raise _too_large(width, height, max_pixels)
        yield image


def _frame_dpi(image: Image.Image) -> tuple[float, float]:
    dpi = image.info.get("dpi")
    try:
        dpi_x, dpi_y = float(dpi[0]), float(dpi[1])  # type: ignore[index]
    except (TypeError, ValueError, IndexError):
        return DEFAULT_DPI, DEFAULT_DPI
    low, high = _PLAUSIBLE_DPI
    if not (low <= dpi_x <= high and low <= dpi_y <= high):
        return DEFAULT_DPI, DEFAULT_DPI
    return _whole_if_close(dpi_x), _whole_if_close(dpi_y)


def _whole_if_close(dpi: float) -> float:
    # PNG stores pixels per metre: 200 dpi comes back as 199.9996, which would make the page
    # a hair larger than its pixels.
    return float(round(dpi)) if abs(dpi - round(dpi)) < 0.05 else dpi


def iter_frames(
    image: Image.Image, *, max_pixels: int = MAX_IMAGE_PIXELS
) -> Iterator[tuple[Image.Image, ImageFrame]]:
    """Decode the frames of an opened image one at a time (so memory holds one frame).

    The image object is reused: use each frame before asking for the next. Raises
    :class:`DocumentError` (``IMAGE_TOO_LARGE``, ``CORRUPT_IMAGE``) naming the bad page.
    """
    count = getattr(image, "n_frames", 1)
    for index in range(count):
        page_note = f" (page {index + 1})" if count > 1 else ""
        try:
            image.seek(index)
        except _DECODE_ERRORS as error:
            raise _corrupt(page_note) from error
        width, height = image.size
        if width <= 0 or height <= 0:
            raise _corrupt(page_note)
        # Frames after the first are not checked by Pillow at all.
        if width * height > max_pixels:
            raise _too_large(width, height, max_pixels)
        try:
            image.load()
        except _DECODE_ERRORS as error:
            raise _corrupt(page_note) from error
        dpi_x, dpi_y = _frame_dpi(image)
        yield image, ImageFrame(width, height, dpi_x, dpi_y)


def inspect_image(
    path: str | os.PathLike[str], limits: ImageLimits | None = None
) -> list[ImageFrame]:
    """Validate every frame of an image file and return their sizes.

    The limits are checked on the headers of all frames first; only then is each frame decoded
    (one at a time) to find a damaged one now rather than in a worker. Raises
    :class:`DocumentError` with ``IMAGE_TOO_LARGE``, ``TOO_MANY_PAGES`` or ``CORRUPT_IMAGE``.
    """
    limits = limits or ImageLimits()
    with open_image(path, max_pixels=limits.max_pixels) as image:
        scan_frames(image, limits)
        return [frame for _, frame in iter_frames(image, max_pixels=limits.max_pixels)]


def _pdf_ready(frame: Image.Image) -> Image.Image:
    """A copy of the frame in a mode PDFium embeds without surprises (gray or RGB)."""
    if frame.mode in ("1", "L", "I;16", "I;16B", "I;16L", "I", "F"):
        if frame.mode in ("I", "F", "I;16", "I;16B", "I;16L"):
            # Scale deep gray images into 8 bits instead of clipping them to white.
            return ImageOps.autocontrast(frame.convert("I").point(lambda v: v / 256).convert("L"))
        return frame.convert("L")
    if frame.mode in ("RGBA", "LA", "PA") or "transparency" in frame.info:
        rgba = frame.convert("RGBA")
        # Transparent areas become white paper, as a viewer would show them.
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return frame.convert("RGB")


def _jpeg_bytes_as_is(path: str | os.PathLike[str], image: Image.Image) -> bytes | None:
    """The JPEG file's own bytes when they can be embedded unchanged (no re-compression)."""
    if image.format != "JPEG" or image.mode not in ("L", "RGB"):
        return None
    if image.getexif().get(0x0112, 1) != 1:  # EXIF orientation: must be applied to the pixels
        return None
    with open(path, "rb") as file:
        return file.read()


def image_to_pdf(
    path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    limits: ImageLimits | None = None,
) -> int:
    """Convert a JPEG, PNG or (multi-page) TIFF into a PDF with one page per frame.

    Each page has the frame's size at the frame's resolution (300 dpi when it declares none);
    a JPEG is embedded as it is, other frames losslessly (Flate). The PDF is written atomically.
    Memory holds one decoded frame: each page is compressed (saved as a PDF of its own) before
    the next frame is decoded. Returns the number of pages. Raises :class:`DocumentError`
    (``UNSUPPORTED_TYPE`` for a file that is not one of these images, ``IMAGE_TOO_LARGE``,
    ``TOO_MANY_PAGES``, ``CORRUPT_IMAGE``).
    """
    limits = limits or ImageLimits()
    file_type = detect_file_type(path)
    if not file_type.is_image:
        raise DocumentError(
            DocumentErrorCode.UNSUPPORTED_TYPE, "Only JPEG, PNG and TIFF images become PDFs here."
        )
    pdf = pypdfium2.PdfDocument.new()
    try:
        with open_image(path, max_pixels=limits.max_pixels) as image:
            scan_frames(image, limits)
            jpeg = _jpeg_bytes_as_is(path, image) if file_type is FileType.JPEG else None
            for frame, info in iter_frames(image, max_pixels=limits.max_pixels):
                _append_compressed(pdf, _one_page_pdf(frame, info, jpeg))
        page_count = len(pdf)
        with atomic_write(out_path) as file:
            pdf.save(file)
    finally:
        pdf.close()
    return page_count


def _one_page_pdf(frame: Image.Image, info: ImageFrame, jpeg: bytes | None) -> bytes:
    """One frame as a saved one-page PDF (its image compressed)."""
    single = pypdfium2.PdfDocument.new()
    try:
        _add_image_page(single, frame, info, jpeg)
        buffer = io.BytesIO()
        single.save(buffer)
        return buffer.getvalue()
    finally:
        single.close()


def _append_compressed(pdf: pypdfium2.PdfDocument, page_pdf: bytes) -> None:
    # A page built in ``pdf`` itself would keep its decoded bitmap until ``pdf`` is saved (a GiB
    # for eight fax-sized frames); imported from a saved PDF it holds the compressed stream.
    single = pypdfium2.PdfDocument(page_pdf)
    try:
        pdf.import_pages(single)
    finally:
        single.close()


def _add_image_page(
    pdf: pypdfium2.PdfDocument,
    frame: Image.Image,
    info: ImageFrame,
    jpeg: bytes | None,
) -> None:
    if jpeg is None and frame.format == "JPEG":
        # A rotated (EXIF) JPEG: turn the pixels upright and keep it a JPEG.
        upright = ImageOps.exif_transpose(frame).convert("RGB")
        buffer = io.BytesIO()
        upright.save(buffer, "JPEG", quality=92)
        jpeg = buffer.getvalue()
        info = ImageFrame(upright.width, upright.height, info.dpi_x, info.dpi_y)
    width_pt, height_pt = info.size_points
    page = pdf.new_page(width_pt, height_pt)
    pdf_image = pypdfium2.PdfImage.new(pdf)
    try:
        if jpeg is not None:
            pdf_image.load_jpeg(io.BytesIO(jpeg), inline=True)
        else:
            bitmap = pypdfium2.PdfBitmap.from_pil(_pdf_ready(frame))
            pdf_image.set_bitmap(bitmap)
            bitmap.close()
        pdf_image.set_matrix(pypdfium2.PdfMatrix().scale(width_pt, height_pt))
        page.insert_obj(pdf_image)
        page.gen_content()
    finally:
        page.close()


def make_previews(
    image: Image.Image,
    sizes: Mapping[str, int] = PREVIEW_SIZES,
    *,
    image_format: Literal["JPEG", "WEBP"] = "JPEG",
    quality: int = 80,
) -> dict[str, bytes]:
    """Encode smaller copies of a rendered page: preview name -> JPEG (or WebP) bytes.

    Each copy's longest edge is at most the size given for its name (never enlarged; the
    aspect ratio is kept). Raises ``ValueError`` for a size below 1.
    """
    rgb = image if image.mode in ("RGB", "L") else _pdf_ready(image)
    previews: dict[str, bytes] = {}
    for name, longest_edge in sizes.items():
        if longest_edge < 1:
            raise ValueError(f"preview size {name!r} must be at least 1 pixel")
        copy = rgb.copy()
        copy.thumbnail((longest_edge, longest_edge), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        copy.save(buffer, image_format, quality=quality)
        previews[name] = buffer.getvalue()
    return previews


def carry_previews(
    storage: Storage,
    source: tuple[str, int],
    target: tuple[str, int],
    degrees: int = 0,
    sizes: Mapping[str, int] = PREVIEW_SIZES,
) -> None:
    """Give page ``target`` (file hash, page number) the previews of page ``source``, turned
    clockwise by ``degrees`` (a multiple of 90): linked when not turned, so nothing is
    rendered again. A preview the source lacks, or the target has already, is left alone."""
    for size in sizes:
        if not degrees % 360:
            storage.link_preview(*source, *target, size)
            continue
        path = storage.preview_path(*source, size)
        if not path.exists() or storage.preview_path(*target, size).exists():
            continue
        with Image.open(path) as image:
            turned = image.rotate(-degrees, expand=True)  # PIL turns anticlockwise
        buffer = io.BytesIO()
        turned.save(buffer, "JPEG", quality=80)
        storage.write_preview(*target, size, buffer.getvalue())
