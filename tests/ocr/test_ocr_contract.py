"""The contract every OCR engine keeps, run against EasyOCR and Tesseract on real models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from archivist.core.images import image_to_pdf
from archivist.core.pdf import render_page
from archivist.core.words import image_words_to_page
from archivist.jobs.ocr_engines import OcrEngine, OcrError

# Measured on the invoice page: EasyOCR 0.014 (it joins "fox jumps"), Tesseract 5.3 0.000.
# The margin allows for other builds of the engines and models.
MAX_CHARACTER_ERROR_RATE = 0.05


def test_engine_reads_known_text(engine: OcrEngine, invoice_page: Any, measures: Any) -> None:
    words = engine.recognize(invoice_page.image, ["en"])
    got = " ".join(word.text for word in words)
    rate = measures.character_error_rate(invoice_page.text, got)
    print(f"{engine.name}: character error rate {rate:.3f} ({got!r})")
    assert rate < MAX_CHARACTER_ERROR_RATE


def test_words_have_their_own_boxes_in_image_pixels(engine: OcrEngine, invoice_page: Any) -> None:
    width, height = invoice_page.image.size
    words = engine.recognize(invoice_page.image, ["en"])
    drawn = dict(invoice_page.words)
    matched = 0
    for word in words:
        assert 0 <= word.x0 < word.x1 <= width + 1
        assert 0 <= word.y0 < word.y1 <= height + 1
        assert 0.0 <= word.confidence <= 1.0
        assert word.text == word.text.strip() and " " not in word.text
        if word.text in drawn:
            x0, y0, x1, y1 = drawn[word.text]
            center_x, center_y = (word.x0 + word.x1) / 2, (word.y0 + word.y1) / 2
            # Each word's centre lies in (or within a few pixels of) the box it was drawn in.
            assert x0 - 12 <= center_x <= x1 + 12, word
            assert y0 - 8 <= center_y <= y1 + 8, word
            matched += 1
    assert matched >= len(drawn) * 0.8


def test_blank_page_has_no_words(engine: OcrEngine) -> None:
    assert engine.recognize(Image.new("RGB", (400, 200), "white"), ["en"]) == []


def test_missing_language_is_a_clear_error(engine: OcrEngine, invoice_page: Any) -> None:
    with pytest.raises(OcrError, match="xx"):
        engine.recognize(invoice_page.image, ["xx"])


def test_words_map_back_to_page_points(engine: OcrEngine, tmp_path: Path, measures: Any) -> None:
    page = measures.draw_page(["Archive page"], size=(600, 150), font_size=40)
    source = tmp_path / "scan.png"
    page.image.save(source, dpi=(150, 150))
    pdf = tmp_path / "scan.pdf"
    image_to_pdf(source, pdf)
    rendered = render_page(pdf, 0, dpi=300)  # twice the scan's resolution
    words = image_words_to_page(engine.recognize(rendered.image, ["en"]), rendered.scale)
    [archive] = [word for word in words if word.text == "Archive"]
    x0, y0, x1, y1 = (value * 72 / 150 for value in dict(page.words)["Archive"])
    assert x0 - 5 <= (archive.x0 + archive.x1) / 2 <= x1 + 5
    assert y0 - 5 <= (archive.y0 + archive.y1) / 2 <= y1 + 5
