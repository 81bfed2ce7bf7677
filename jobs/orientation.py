"""Turned pages: find how far a scanned page must turn to be upright, with Tesseract's
orientation and script detection (OSD, Debian's ``tesseract-ocr-osd`` data).

OCR then reads the page upright, and its word boxes are turned back onto the page as stored,
so that search highlights land on the words. Without Tesseract or its OSD data, or when OSD
is unsure (too little text), a page is read as it is.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess

from PIL import Image

from archivist.core.page_ops import rotate_words
from archivist.core.words import Word

# Below this OSD confidence the answer is a guess (Tesseract's own examples use 2).
MIN_CONFIDENCE = 2.0
# OSD reads letter shapes, not detail: a page this size (longest side, pixels) is plenty.
_OSD_SIDE = 2000
_ROTATE = re.compile(r"Rotate:\s*(\d+)")
_CONFIDENCE = re.compile(r"Orientation confidence:\s*([\d.]+)")


def upright_turn(image: Image.Image, binary: str = "tesseract", timeout_s: float = 60.0) -> int:
    """Degrees (0, 90, 180 or 270) to turn ``image`` clockwise so that its text is upright;
    0 when that cannot be told. Never raises for a missing or failing Tesseract."""
    path = shutil.which(binary)
    if path is None:
        return 0
    small = image.copy()
    small.thumbnail((_OSD_SIDE, _OSD_SIDE))
    png = io.BytesIO()
    small.convert("L").save(png, "PNG")
    try:
        result = subprocess.run(
            [path, "stdin", "stdout", "--psm", "0", "--dpi", "300"],
            input=png.getvalue(),
            capture_output=True,
            env={**os.environ, "OMP_THREAD_LIMIT": "1"},
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return 0
    output = result.stdout.decode("utf-8", "replace")
    turn, confidence = _ROTATE.search(output), _CONFIDENCE.search(output)
    if result.returncode != 0 or turn is None or confidence is None:
        return 0  # no OSD data, or too few characters to tell
    degrees = int(turn.group(1)) % 360
    if degrees not in (90, 180, 270) or float(confidence.group(1)) < MIN_CONFIDENCE:
        return 0
    return degrees


def turn_image(image: Image.Image, degrees: int) -> Image.Image:
    """``image`` turned clockwise by ``degrees`` (a multiple of 90)."""
    if not degrees % 360:
        return image
    turned = image.rotate(-degrees, expand=True)
    turned.info.update(image.info)  # its resolution, which OCR engines read
    return turned


def words_back(words: list[Word], upright: Image.Image, degrees: int) -> list[Word]:
    """Word boxes found on the ``upright`` image (the page turned clockwise by ``degrees``)
    in the pixels of the page as it was."""
    if not degrees % 360:
        return words
    return rotate_words(words, upright.width, upright.height, (360 - degrees) % 360)
