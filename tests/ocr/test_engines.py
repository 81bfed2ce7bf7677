"""What is particular to each engine, and choosing one by name."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from archivist.core.words import Word, image_words_to_page
from archivist.jobs.ocr_engines import (
    EasyOcrEngine,
    OcrEngine,
    OcrError,
    TesseractEngine,
    get_easyocr_reader,
    get_engine,
    split_quad_into_words,
    split_run_into_words,
    tesseract_language,
)


def test_a_run_is_split_into_words_by_character_position() -> None:
    words = split_run_into_words("ab cd", (0.0, 10.0, 50.0, 20.0), 0.8)
    assert words == [Word("ab", 0, 10, 20, 20, 0.8), Word("cd", 30, 10, 50, 20, 0.8)]
    assert split_run_into_words("", (0, 0, 1, 1), 1.0) == []


def test_a_tilted_run_gives_each_word_its_own_part_of_the_line() -> None:
    # A line 1,000 px long falling 35 px (2 degrees), 40 px high: the first word sits at the
    # top of the run's upright box, the last at its bottom, each about 40 px high.
    quad = [[0.0, 100.0], [1000.0, 135.0], [998.6, 175.0], [-1.4, 140.0]]
    first, middle, last = split_quad_into_words("alpha bravo charl", quad, 0.9)
    assert (first.text, middle.text, last.text) == ("alpha", "bravo", "charl")
    assert first.y0 == pytest.approx(100.0) and last.y1 == pytest.approx(175.0)
    assert first.y0 < middle.y0 < last.y0 and first.y1 < middle.y1 < last.y1
    for word in (first, middle, last):
        assert 40 <= word.height <= 52
    assert first.x0 == pytest.approx(-1.4) and last.x1 == pytest.approx(1000.0)


def test_image_words_scale_to_points() -> None:
    [word] = image_words_to_page([Word("x", 300, 150, 600, 300, 0.5)], 300 / 72)
    assert (word.x0, word.y0, word.x1, word.y1) == pytest.approx((72, 36, 144, 72))
    with pytest.raises(ValueError):
        image_words_to_page([], 0)


def test_get_engine_by_name() -> None:
    assert isinstance(get_engine("easyocr"), EasyOcrEngine)
    tesseract = get_engine("Tesseract", psm=6)
    assert isinstance(tesseract, TesseractEngine) and tesseract.psm == 6
    assert isinstance(tesseract, OcrEngine)
    with pytest.raises(ValueError, match="easyocr, tesseract"):
        get_engine("abbyy")


def test_iso_codes_map_to_tesseract_names() -> None:
    assert tesseract_language("en") == "eng"
    assert tesseract_language("de") == "deu"
    assert tesseract_language("chi_tra") == "chi_tra"


def test_missing_tesseract_binary_is_a_clear_error() -> None:
    engine = TesseractEngine(binary="tesseract-that-is-not-installed")
    with pytest.raises(OcrError, match="Tesseract is not installed"):
        engine.recognize(Image.new("L", (10, 10), 255), ["en"])


@pytest.mark.slow
def test_easyocr_reader_is_created_once_per_process(easyocr_engine: EasyOcrEngine) -> None:
    first = get_easyocr_reader(["en"], gpu=False)
    assert get_easyocr_reader(["en"], gpu=False) is first


def test_easyocr_without_weights_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(OcrError, match="models in"):
        get_easyocr_reader(["en"], model_dir=str(tmp_path), gpu=False)
