"""OCR engines, shared per test session (a model loads once), and pages with known text."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from PIL import Image, ImageDraw, ImageFont
from support import character_error_rate

from archivist.jobs.ocr_engines import EasyOcrEngine, OcrEngine, TesseractEngine


@dataclass(frozen=True)
class KnownPage:
    """A generated picture and, per word drawn on it, its text and pixel box."""

    image: Image.Image
    words: list[tuple[str, tuple[float, float, float, float]]]

    @property
    def text(self) -> str:
        return " ".join(text for text, _ in self.words)


def draw_page(lines: Sequence[str], size: tuple[int, int], font_size: int) -> KnownPage:
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=font_size)
    words = []
    for number, line in enumerate(lines):
        x, y = 24, 24 + number * int(font_size * 1.8)
        draw.text((x, y), line, fill="black", font=font)
        offset = 0
        for token in line.split(" "):
            start = line.index(token, offset)
            offset = start + len(token)
            x0 = x + font.getlength(line[:start])
            box = draw.textbbox((x0, y), token, font=font)
            words.append((token, tuple(float(v) for v in box)))
    return KnownPage(image, words)  # type: ignore[arg-type]


class Measures:
    draw_page = staticmethod(draw_page)
    character_error_rate = staticmethod(character_error_rate)


@pytest.fixture
def measures() -> type[Measures]:
    return Measures


@pytest.fixture(scope="session")
def invoice_page() -> KnownPage:
    return draw_page(
        ["Invoice number 20240042", "The quick brown fox jumps", "over the lazy dog twice"],
        size=(640, 240),
        font_size=34,
    )


@pytest.fixture(scope="session")
def easyocr_engine() -> EasyOcrEngine:
    return EasyOcrEngine()


@pytest.fixture(scope="session")
def tesseract_engine() -> TesseractEngine:
    if shutil.which("tesseract") is None:
        pytest.skip("the tesseract binary is not installed (apt-get install tesseract-ocr)")
    return TesseractEngine()


@pytest.fixture(params=[pytest.param("easyocr", marks=pytest.mark.slow), "tesseract"])
def engine(request: pytest.FixtureRequest) -> OcrEngine:
    """Each OCR engine in turn: the contract suite runs against both."""
    fixture: OcrEngine = request.getfixturevalue(f"{request.param}_engine")
    return fixture
