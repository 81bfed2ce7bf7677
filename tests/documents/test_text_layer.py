"""Reading a page's own text layer, judging it, and writing OCR'd words as an invisible one."""

from __future__ import annotations

import ctypes
from pathlib import Path
from typing import Any

import pypdfium2
import pypdfium2.raw as pdfium_c
import pytest
from PIL import Image
from samples import DEJAVU_SANS, cid_font_pdf, font_text_pdf, image_pdf

from archivist.core.pages import words_to_text
from archivist.core.pdf import render_page
from archivist.core.text_layer import (
    _PageFrame,
    extract_text_layer,
    has_usable_text,
    is_usable,
    read_text_layer,
    write_searchable_pdf,
)
from archivist.core.words import Word

SENTENCE = "The archive keeps every page of every document findable by its words"


def words_of(text: str, top: float = 30.0, height: float = 14.0) -> list[Word]:
    """Words laid out on lines of six, 8 pt apart, as an OCR engine might report them."""
    words = []
    for number, token in enumerate(text.split()):
        line, column = divmod(number, 6)
        x0 = 20.0 + column * 70.0
        y0 = top + line * 24.0
        words.append(Word(token, x0, y0, x0 + 7.0 * len(token), y0 + height, 0.9))
    return words


def test_visible_text_is_read_with_top_left_boxes(samples: Any, tmp_path: Path) -> None:
    pdf = tmp_path / "born_digital.pdf"
    samples.pdf_with_visible_text(pdf, [("Invoice", 20, 40), ("42", 80, 40), ("Total:", 20, 80)])
    words = extract_text_layer(pdf, 0)
    assert [word.text for word in words] == ["Invoice", "42", "Total:"]
    invoice = words[0]
    assert invoice.x0 == pytest.approx(20, abs=0.01)
    # Helvetica's box: ascent 0.945 em above the baseline, descent 0.224 em below it.
    assert invoice.y0 == pytest.approx(40 - 12 * 0.945, abs=0.05)
    assert invoice.y1 == pytest.approx(40 + 12 * 0.224, abs=0.05)
    assert invoice.x1 > invoice.x0 + 30
    assert all(word.confidence == 1.0 for word in words)


def test_a_scan_has_no_text_layer(sample_pdf: Path) -> None:
    assert extract_text_layer(sample_pdf, 0) == []
    assert not has_usable_text([])


def test_usable_text_heuristic() -> None:
    assert has_usable_text(words_of(SENTENCE))
    # A scanner's stamp or a page number is not a text layer worth keeping.
    assert not has_usable_text(words_of("Scanned 2024-03-01 by ACME Copier page 3"))
    assert not has_usable_text(words_of("- 3 -"))
    # Plenty of words, but a font without Unicode mapping: private-use glyphs.
    garbled = " ".join("\ue001\ue002\ue003ab" for _ in range(12))
    assert not has_usable_text(words_of(garbled))
    # Mostly punctuation is not words either.
    assert not has_usable_text(words_of(" ".join(["...", "--", "|", "ab"] * 5)))


def test_a_short_born_digital_page_keeps_its_text_layer(tmp_path: Path) -> None:
    # A PDF/A page whose whole text is two Japanese words: not a scan, so its text is kept.
    pdf = cid_font_pdf(tmp_path / "japanese.pdf", [("日本語", 72, 100), ("テキスト", 180, 100)])
    layer = read_text_layer(pdf, 0)
    assert [word.text for word in layer.words] == ["日本語", "テキスト"]
    assert layer.unmapped == 0 and not layer.is_scan
    assert is_usable(layer)


def test_cjk_text_counts_by_characters() -> None:
    # Eight characters are eight words, though written without spaces.
    assert has_usable_text(words_of("東京都千代田区丸の内"), scan=True)
    assert not has_usable_text(words_of("日本語"), scan=True)
    assert has_usable_text(words_of("日本語"), scan=False)
    # Short text that is not words is not usable anywhere.
    assert not has_usable_text(words_of("- 3 -"), scan=False)
    assert not has_usable_text(words_of("\ue001\ue002 \ue003\ue004"), scan=False)
    # A font without a Unicode map: readable-looking characters, but mapped by guesswork.
    assert not has_usable_text(words_of("Invoice total"), scan=False, unmapped=4)


def test_a_stamp_on_a_scan_is_not_a_text_layer(tmp_path: Path) -> None:
    scan = image_pdf(tmp_path / "scan.pdf", Image.new("L", (1240, 1754), 255))
    pdf = pypdfium2.PdfDocument(scan)
    page = pdf[0]
    font = pdfium_c.FPDFText_LoadStandardFont(pdf.raw, b"Helvetica")
    obj = pdfium_c.FPDFPageObj_CreateTextObj(pdf.raw, font, ctypes.c_float(8.0))
    encoded = "Scanned 2024-03-01 by ACME".encode("utf-16-le") + b"\x00\x00"
    buffer = ctypes.create_string_buffer(encoded, len(encoded))
    pdfium_c.FPDFText_SetText(obj, ctypes.cast(buffer, ctypes.POINTER(pdfium_c.FPDF_WCHAR)))
    pdfium_c.FPDFPageObj_Transform(obj, 1, 0, 0, 1, 20, 20)
    pdfium_c.FPDFPage_InsertObject(page.raw, obj)
    assert pdfium_c.FPDFPage_GenerateContent(page.raw)
    page.close()
    stamped = tmp_path / "stamped.pdf"
    pdf.save(str(stamped))
    pdf.close()
    layer = read_text_layer(stamped, 0)
    assert layer.is_scan and len(layer.words) == 4
    assert not is_usable(layer)


RTL_LINES = {
    "hebrew": "זהו מסמך בדיקה עם שמונה מילים בעברית לפחות כאן",
    "arabic": "هذه وثيقة اختبار فيها ثماني كلمات باللغة العربية",
}


@pytest.mark.parametrize("language", sorted(RTL_LINES))
def test_right_to_left_text_layer_reads_in_logical_order(tmp_path: Path, language: str) -> None:
    if not DEJAVU_SANS.exists():
        pytest.skip(f"needs {DEJAVU_SANS} (Debian's fonts-dejavu-core) for Hebrew and Arabic")
    line = RTL_LINES[language]
    pdf = font_text_pdf(tmp_path / f"{language}.pdf", [line, "Total 12.50"], DEJAVU_SANS)
    layer = read_text_layer(pdf, 0)
    assert is_usable(layer)
    # The first word of the sentence stands rightmost on the page, and comes first.
    assert layer.words[0].x0 > layer.words[1].x1
    assert words_to_text(layer.words) == f"{line}\nTotal 12.50"


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_searchable_pdf_round_trip(samples: Any, tmp_path: Path, rotation: int) -> None:
    source = samples.blank_pdf(tmp_path / "scan.pdf", [(595, 842)] * 2, rotation=rotation)
    stored = words_of(SENTENCE + " café naïve 12.50 € x")
    out = tmp_path / "searchable.pdf"
    assert write_searchable_pdf(source, [stored, []], out) == [0]

    read_back = extract_text_layer(out, 0)
    assert [word.text for word in read_back] == [word.text for word in stored]
    for got, placed in zip(read_back, stored, strict=True):
        assert (got.x0, got.y0, got.x1, got.y1) == pytest.approx(
            (placed.x0, placed.y0, placed.x1, placed.y1), abs=0.2
        )
    assert extract_text_layer(out, 1) == []


def test_searchable_text_is_invisible(sample_pdf: Path, tmp_path: Path) -> None:
    out = tmp_path / "searchable.pdf"
    write_searchable_pdf(sample_pdf, [words_of(SENTENCE), words_of("Second page")], out)
    before = render_page(sample_pdf, 0, dpi=72).image
    after = render_page(out, 0, dpi=72).image
    assert before.tobytes() == after.tobytes()
    assert [word.text for word in extract_text_layer(out, 1)] == ["Second", "page"]


def test_page_with_its_own_text_keeps_it(samples: Any, tmp_path: Path) -> None:
    source = tmp_path / "born_digital.pdf"
    tokens = SENTENCE.split()
    placed = [(token, 10 + 90 * (n % 6), 20 + 20 * (n // 6)) for n, token in enumerate(tokens)]
    samples.pdf_with_visible_text(source, placed, size=(600, 200))
    original = extract_text_layer(source, 0)
    assert [word.text for word in original] == tokens
    out = tmp_path / "out.pdf"
    assert write_searchable_pdf(source, [words_of("OCR would say this")], out) == []
    assert extract_text_layer(out, 0) == original


def test_words_touching_each_other_stay_apart(samples: Any, tmp_path: Path) -> None:
    source = samples.blank_pdf(tmp_path / "scan.pdf", [(300, 100)])
    stored = [Word("glued", 10, 10, 40, 20), Word("words", 40, 10, 70, 20)]
    out = tmp_path / "out.pdf"
    write_searchable_pdf(source, [stored], out)
    assert [word.text for word in extract_text_layer(out, 0)] == ["glued", "words"]


def test_output_replaces_atomically_and_checks_page_count(samples: Any, tmp_path: Path) -> None:
    source = samples.blank_pdf(tmp_path / "scan.pdf", [(300, 100)])
    out = tmp_path / "out.pdf"
    out.write_bytes(b"old version")
    write_searchable_pdf(source, [[Word("new", 10, 10, 30, 20)]], out)
    assert out.read_bytes().startswith(b"%PDF")
    with pytest.raises(ValueError, match="1 pages"):
        write_searchable_pdf(source, [[], []], tmp_path / "never.pdf")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.pdf", "scan.pdf"]


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_page_coordinates_match_pdfium(samples: Any, tmp_path: Path, rotation: int) -> None:
    """Our user-space to page mapping agrees with PDFium's own (FPDF_PageToDevice)."""
    pdf = pypdfium2.PdfDocument(str(samples.blank_pdf(tmp_path / "a.pdf", [(400, 300)], rotation)))
    page = pdf[0]
    frame = _PageFrame.of(page)
    width, height = page.get_size()
    device_x, device_y = ctypes.c_int(), ctypes.c_int()
    for x, y in [(30.0, 50.0), (390.0, 10.0), (0.0, 300.0)]:
        pdfium_c.FPDF_PageToDevice(
            page.raw, 0, 0, int(width * 100), int(height * 100), 0, x, y,
            ctypes.byref(device_x), ctypes.byref(device_y),
        )  # fmt: skip
        expected = (device_x.value / 100, device_y.value / 100)
        assert frame.to_display(x, y) == pytest.approx(expected, abs=0.02)
        assert frame.to_user(*frame.to_display(x, y)) == pytest.approx((x, y))
    page.close()
    pdf.close()
