"""Reading order: columns one after the other, lines top to bottom, tables row by row.

The layout step is checked on word boxes laid out by hand, then on generated pages read by
Tesseract and (a small page) by EasyOCR, whose own orders interleave two columns.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest
from PIL import Image, ImageDraw, ImageFont
from samples import LEFT, RIGHT, two_column_page

from archivist.core.pages import words_to_text
from archivist.core.reading_order import reading_order
from archivist.core.words import Word
from archivist.jobs.ocr_engines import OcrEngine


def lay_out(
    lines: Sequence[str], x: float, y: float, *, height: float = 10.0, pitch: float = 14.0
) -> list[Word]:
    """Words on lines, 6 units per character, a space of 4 between words."""
    words = []
    for number, line in enumerate(lines):
        left = x
        top = y + number * pitch
        for token in line.split():
            words.append(Word(token, left, top, left + 6.0 * len(token), top + height))
            left += 6.0 * len(token) + 4.0
    return words


def engine_order(words: list[Word]) -> list[Word]:
    """How a detector reports them: by line position across the whole page."""
    return sorted(words, key=lambda w: (round(w.y0), w.x0))


def texts(words: Sequence[Word]) -> str:
    return " ".join(word.text for word in words)


def test_two_columns_are_read_one_after_the_other() -> None:
    words = engine_order(lay_out(LEFT, 20, 40) + lay_out(RIGHT, 200, 40))
    ordered = reading_order(words)
    assert texts(ordered) == " ".join(LEFT + RIGHT)
    assert words_to_text(ordered) == "\n".join(LEFT + RIGHT)


def test_a_heading_and_a_footer_across_both_columns_stay_in_place() -> None:
    heading = lay_out(["Annual report of the archive"], 20, 26)  # as tight as the lines
    footer = lay_out(["Page 3 of 12"], 150, 40 + 4 * 14.0)
    words = engine_order(heading + lay_out(LEFT, 20, 40) + lay_out(RIGHT, 200, 40) + footer)
    assert texts(reading_order(words)) == " ".join(
        ["Annual report of the archive", *LEFT, *RIGHT, "Page 3 of 12"]
    )


def test_paragraph_breaks_level_across_columns_do_not_cut_the_columns_into_slabs() -> None:
    # Both columns break their paragraphs at the same height, further apart than the heading
    # stands from them: still each column in turn.
    heading = lay_out(["Annual report of the archive"], 20, 26)
    left = lay_out(LEFT[:2], 20, 40) + lay_out(LEFT[2:], 20, 40 + 2 * 14 + 20)
    right = lay_out(RIGHT[:2], 200, 40) + lay_out(RIGHT[2:], 200, 40 + 2 * 14 + 20)
    ordered = reading_order(engine_order(heading + left + right))
    assert texts(ordered) == " ".join(["Annual report of the archive", *LEFT, *RIGHT])


def test_a_table_is_read_row_by_row() -> None:
    rows = [("Item", "Qty", "Price"), ("Paper", "10", "4.50"), ("Toner", "2", "88.00")]
    words = []
    for number, row in enumerate(rows):
        for column, cell in enumerate(row):
            x = 20 + column * 120
            words.append(Word(cell, x, 40 + number * 14, x + 6 * len(cell), 50 + number * 14))
    shuffled = sorted(words, key=lambda w: (w.x0, w.y0))  # column by column
    assert texts(reading_order(shuffled)) == " ".join(cell for row in rows for cell in row)
    assert words_to_text(reading_order(shuffled)).splitlines() == [" ".join(r) for r in rows]


def test_a_single_column_with_paragraphs_reads_top_to_bottom() -> None:
    first = lay_out(LEFT[:2], 20, 40)
    second = lay_out(RIGHT, 20, 40 + 2 * 14 + 20)  # after a paragraph gap
    words = sorted(first + second, key=lambda w: -w.x1)  # any engine order
    assert words_to_text(reading_order(words)) == "\n".join(LEFT[:2] + RIGHT)


def test_right_to_left_lines_are_read_from_the_right() -> None:
    # Two Hebrew words as an engine reports them (left to right on the page); the first in
    # reading order is the rightmost.
    words = [Word("עולם", 20, 40, 60, 50), Word("שלום", 70, 40, 110, 50)]
    assert texts(reading_order(words)) == "שלום עולם"


def tilted(words: list[Word], degrees: float) -> list[Word]:
    """The words of a page scanned ``degrees`` off level (clockwise, about the origin): each
    box is the upright box around the turned word, as an engine reports it."""
    angle = math.radians(degrees)
    cos, sin = math.cos(angle), math.sin(angle)
    turned = []
    for word in words:
        corners = [(x, y) for x in (word.x0, word.x1) for y in (word.y0, word.y1)]
        xs = [x * cos - y * sin for x, y in corners]
        ys = [x * sin + y * cos for x, y in corners]
        turned.append(Word(word.text, min(xs), min(ys), max(xs), max(ys)))
    return turned


LONG_LINES = [
    " ".join(f"{word}{number}" for word in ("archive", "ledger", "invoice", "folder") * 3)
    for number in range(8)
]


@pytest.mark.parametrize("degrees", [-3.0, -1.5, 1.0, 2.0, 4.5])
def test_a_tilted_page_is_read_line_after_line(degrees: float) -> None:
    # Lines of about 600 units fall 10-47 units over their length, beyond the line pitch of
    # 14: taken level, their words mix with the next lines'.
    words = tilted(lay_out(LONG_LINES, 40, 60), degrees)
    ordered = reading_order(engine_order(words))
    assert texts(ordered) == " ".join(LONG_LINES)
    assert words_to_text(ordered) == "\n".join(LONG_LINES)  # the stored text's lines too


@pytest.mark.parametrize("degrees", [-2.0, 2.5])
def test_a_tilted_two_column_page_is_read_column_by_column(degrees: float) -> None:
    left = [line + " " + line for line in LEFT]  # long enough lines for the tilt to matter
    right = [line + " " + line for line in RIGHT]
    words = tilted(lay_out(left, 20, 40) + lay_out(right, 400, 40), degrees)
    ordered = reading_order(engine_order(words))
    assert texts(ordered) == " ".join(left + right)
    assert words_to_text(ordered) == "\n".join(left + right)


def test_a_level_page_is_not_levelled(monkeypatch: pytest.MonkeyPatch) -> None:
    # A ragged level page (short and long lines) keeps the plain order: no slope is found.
    from archivist.core import reading_order as module

    words = lay_out(LEFT + LONG_LINES[:3], 20, 40)
    assert module._skew(words) == 0.0
    assert texts(reading_order(engine_order(words))) == " ".join(LEFT + LONG_LINES[:3])


def test_nothing_in_nothing_out() -> None:
    assert reading_order([]) == []
    assert words_to_text([]) == ""


# --- generated pages through real engines ---------------------------------------------------


def assert_columns_in_order(words: list[Word], left: Sequence[str], right: Sequence[str]) -> None:
    """The recognised words, matched to the expected ones, come in the expected order."""
    expected = " ".join([*left, *right]).lower().split()
    position = {word: index for index, word in enumerate(expected)}
    found = [position[w.text.lower()] for w in words if w.text.lower() in position]
    assert len(found) >= 0.8 * len(expected), [w.text for w in words]
    assert found == sorted(found), [w.text for w in words]


def test_tesseract_two_column_scan_reads_column_by_column(
    tesseract_engine: OcrEngine,
) -> None:
    image = two_column_page(LEFT, RIGHT, (1400, 300), font_size=30, gutter=160)
    words = tesseract_engine.recognize(image, ["en"])
    ordered = reading_order(words)
    assert_columns_in_order(ordered, LEFT, RIGHT)
    text = words_to_text(ordered)
    assert "signing them" in text and "printed on paper" in text


@pytest.mark.slow
def test_easyocr_two_column_page_reads_column_by_column(easyocr_engine: OcrEngine) -> None:
    left, right = LEFT[:3], RIGHT[:3]
    image = two_column_page(left, right, (1000, 170), font_size=26, gutter=120)
    words = easyocr_engine.recognize(image, ["en"])
    # EasyOCR's own order puts each right-hand line right after its left-hand neighbour.
    ordered = reading_order(words)
    assert_columns_in_order(ordered, left, right)


TABLE = [("Item", "Quantity", "Price"), ("Paper", "10", "4.50"), ("Toner", "2", "88.00")]


def test_tesseract_tilted_scan_keeps_its_lines_in_order(tesseract_engine: OcrEngine) -> None:
    # A scan 2 degrees off: Tesseract reports upright boxes around tilted words.
    image = Image.new("RGB", (2300, 400), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=28)
    lines = [f"{line} and {other} so {line}" for line, other in zip(LEFT, RIGHT, strict=True)]
    for number, line in enumerate(lines):
        draw.text((40, 60 + number * 44), line, fill="black", font=font)
    image = image.rotate(2.0, resample=Image.Resampling.BICUBIC, expand=True, fillcolor="white")
    ordered = reading_order(tesseract_engine.recognize(image, ["en"]))
    expected = " ".join(lines).lower().split()
    got = [w.text.lower() for w in ordered]
    assert got == expected, got


def test_tesseract_table_and_single_column_stay_in_order(tesseract_engine: OcrEngine) -> None:
    image = Image.new("RGB", (900, 420), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=30)
    for row, cells in enumerate(TABLE):
        for column, cell in enumerate(cells):
            draw.text((30 + column * 300, 30 + row * 50), cell, fill="black", font=font)
    for number, line in enumerate(LEFT):
        draw.text((30, 200 + number * 50), line, fill="black", font=font)
    ordered = reading_order(tesseract_engine.recognize(image, ["en"]))
    lines = words_to_text(ordered).splitlines()
    assert lines == [" ".join(cells) for cells in TABLE] + LEFT, lines
