"""Generated pages that are harder than clean print: what real scans and photographs do.

Each kind returns a greyscale-looking RGB picture and the text drawn on it, from a seed:
nothing is downloaded or checked in. ``scripts/bench/ocr_engines.py`` reads them with every
engine; ``tests/ocr/test_degraded_pages.py`` reads small ones with both EasyOCR paths.

Kinds: ``noise`` (scanner noise and specks), ``blur``, ``jpeg`` (heavy artefacts), ``skew``
(2 degrees), ``low_contrast``, ``uneven_light`` (a photographed page, dark on one side),
``two_columns``, ``table``, ``small_print`` (8 pt).
"""

from __future__ import annotations

import io
import random
import textwrap

import numpy
from PIL import Image, ImageDraw, ImageFilter, ImageFont

KINDS = (
    "noise",
    "blur",
    "jpeg",
    "skew",
    "low_contrast",
    "uneven_light",
    "two_columns",
    "table",
    "small_print",
)
# Kinds whose reading order is a layout question (another part of the pipeline's): their error
# rate is measured with the words in sorted order, so it counts what was read, not in which
# order.
ORDER_FREE_KINDS = frozenset({"two_columns", "table"})

_VOCABULARY = [
    "invoice", "payment", "total", "amount", "account", "date", "number", "customer", "order",
    "contract", "delivery", "address", "company", "service", "period", "balance", "reference",
    "tax", "rate", "price", "quantity", "description", "archive", "document", "folder", "page",
    "scanned", "letter", "insurance", "policy", "claim", "report", "meeting", "minutes",
    "agreement", "signature", "office", "department", "manager", "the", "of", "and", "to", "in",
    "for", "with"
]  # fmt: skip


def _words(rng: random.Random, count: int) -> list[str]:
    words = [rng.choice(_VOCABULARY) for _ in range(count)]
    for _ in range(count // 12):
        words[rng.randrange(count)] = str(rng.randint(10, 99999))
    return words


def _font(points: float, dpi: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=round(points * dpi / 72))


def _prose(
    rng: random.Random, width_px: int, lines: int, points: float, dpi: int
) -> tuple[Image.Image, str]:
    """``lines`` lines of prose at ``points`` on a white strip ``width_px`` wide."""
    font = _font(points, dpi)
    pitch = round(points * 1.4 * dpi / 72)
    margin = round(0.4 * dpi)
    chars = int((width_px - 2 * margin) / (points * dpi / 72 * 0.52))
    text_lines = textwrap.wrap(" ".join(_words(rng, lines * chars // 6)), width=chars)[:lines]
    image = Image.new("RGB", (width_px, 2 * margin + pitch * len(text_lines)), "white")
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(text_lines):
        draw.text((margin, margin + number * pitch), line, fill="black", font=font)
    return image, " ".join(text_lines)


def degraded_page(
    kind: str, dpi: int = 300, lines: int = 8, seed: int = 11
) -> tuple[Image.Image, str]:
    """A page of ``kind`` (see :data:`KINDS`) about A4 wide at ``dpi``, and its text.

    ``lines`` sets how much text (tests use a few lines, the bench more). Raises
    ``ValueError`` for an unknown kind.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown page kind {kind!r}; choose one of {', '.join(KINDS)}")
    rng = random.Random(f"{kind}-{seed}")
    width = round(8.27 * dpi)
    if kind == "two_columns":
        return _two_columns(rng, width, lines, dpi)
    if kind == "table":
        return _table(rng, width, lines, dpi)
    image, text = _prose(rng, width, lines, 8.0 if kind == "small_print" else 10.0, dpi)
    return _degrade(image, kind, rng), text


def _degrade(image: Image.Image, kind: str, rng: random.Random) -> Image.Image:
    grey = numpy.asarray(image.convert("L")).astype(numpy.float32)
    noise = numpy.random.default_rng(rng.randrange(2**32))
    if kind == "noise":
        grey = grey + noise.normal(0, 28, grey.shape)
        specks = noise.random(grey.shape)
        grey[specks < 0.003] = 0
        grey[specks > 0.997] = 255
    elif kind == "blur":
        return image.filter(ImageFilter.GaussianBlur(radius=2.0))
    elif kind == "jpeg":
        buffer = io.BytesIO()
        image.resize((image.width // 2, image.height // 2)).save(buffer, "JPEG", quality=12)
        return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB").resize(image.size)
    elif kind == "skew":
        return image.rotate(2.0, resample=Image.Resampling.BICUBIC, expand=True, fillcolor="white")
    elif kind == "low_contrast":
        grey = 150 + grey * (60 / 255)  # ink at 150, paper at 210
    elif kind == "uneven_light":
        height, width = grey.shape
        x = numpy.linspace(0.0, 1.0, width)[numpy.newaxis, :]
        y = numpy.linspace(0.0, 1.0, height)[:, numpy.newaxis]
        light = 1.0 - 0.55 * x**1.5 - 0.15 * y  # a lamp on the left
        grey = (grey * 0.85 + 20) * light
    return Image.fromarray(numpy.clip(grey, 0, 255).astype(numpy.uint8)).convert("RGB")


def _two_columns(rng: random.Random, width: int, lines: int, dpi: int) -> tuple[Image.Image, str]:
    left, left_text = _prose(rng, width // 2, lines, 10.0, dpi)
    right, right_text = _prose(rng, width // 2, lines, 10.0, dpi)
    image = Image.new("RGB", (width, max(left.height, right.height)), "white")
    image.paste(left, (0, 0))
    image.paste(right, (width // 2, 0))
    return image, f"{left_text} {right_text}"


def _table(rng: random.Random, width: int, rows: int, dpi: int) -> tuple[Image.Image, str]:
    font = _font(10.0, dpi)
    margin, row_height = round(0.4 * dpi), round(0.3 * dpi)
    columns = [0.0, 0.40, 0.62, 0.80, 1.0]
    inner = width - 2 * margin
    image = Image.new("RGB", (width, 2 * margin + rows * row_height), "white")
    draw = ImageDraw.Draw(image)
    cells: list[str] = []
    for row in range(rows):
        top = margin + row * row_height
        values = [
            " ".join(_words(rng, 2)) if row else "description",
            str(rng.randint(1, 99)) if row else "quantity",
            f"{rng.randint(1, 999)}.{rng.randint(0, 99):02d}" if row else "price",
            f"{rng.randint(1, 9999)}.{rng.randint(0, 99):02d}" if row else "total",
        ]
        for column, value in enumerate(values):
            draw.text((margin + columns[column] * inner + 12, top + 14), value, fill="black",
                      font=font)  # fmt: skip
            cells.append(value)
        draw.line((margin, top, width - margin, top), fill="black", width=3)
    bottom = margin + rows * row_height
    draw.line((margin, bottom, width - margin, bottom), fill="black", width=3)
    for fraction in columns:
        x = margin + fraction * inner
        draw.line((x, margin, x, bottom), fill="black", width=3)
    return image, " ".join(cells)


def order_free(text: str) -> str:
    """The words of ``text`` in sorted order, for comparing what was read regardless of order."""
    return " ".join(sorted(text.split()))
