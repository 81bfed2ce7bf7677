"""Page edits: each writes a new PDF, keeps the pages' text layers, says where each page came from,
and turns word boxes the way PDFium turns the page."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
from PIL import ImageOps

from archivist.core.document_errors import DocumentError, DocumentErrorCode
from archivist.core.errors import UserFacingError
from archivist.core.page_ops import (
    PageOrigin,
    PageSelectionError,
    PageSelectionErrorCode,
    append_pages,
    delete_pages,
    extract_pages,
    merge_pdfs,
    pages_after_append,
    pages_after_delete,
    pages_after_extract,
    pages_after_merge,
    pages_after_reorder,
    pages_after_rotate,
    reorder_pages,
    rotate_pages,
    rotate_words,
    rotated_size,
)
from archivist.core.pdf import inspect_pdf, render_page
from archivist.core.text_layer import extract_text_layer, write_searchable_pdf
from archivist.core.words import Word

ANGLES = [90, 180, 270, -90]


def searchable(samples: Any, path: Path, count: int, name: str = "Page") -> Path:
    """A ``count``-page scan with an invisible text layer "<name><n> text" on page n; page n is
    300 + n points wide, so its size tells it apart too."""
    blank = samples.blank_pdf(
        path.with_suffix(".blank.pdf"), [(300 + n, 400) for n in range(1, count + 1)]
    )
    layers = [
        [Word(f"{name}{n}", 20, 30, 80, 44, 0.9), Word("text", 90, 30, 120, 44, 0.9)]
        for n in range(1, count + 1)
    ]
    write_searchable_pdf(blank, layers, path)
    return path


def texts(path: Path) -> list[str]:
    """Each page's text layer, its words joined by spaces."""
    count = len(inspect_pdf(path))
    return [
        " ".join(word.text for word in extract_text_layer(path, index)) for index in range(count)
    ]


def widths(path: Path) -> list[float]:
    return [round(width) for width, _ in inspect_pdf(path)]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_boxes(got: list[Word], expected: list[Word], tolerance: float) -> None:
    assert [word.text for word in got] == [word.text for word in expected]
    for mine, theirs in zip(got, expected, strict=True):
        assert (mine.x0, mine.y0, mine.x1, mine.y1) == pytest.approx(
            (theirs.x0, theirs.y0, theirs.x1, theirs.y1), abs=tolerance
        )


@pytest.fixture
def doc(samples: Any, tmp_path: Path) -> Path:
    return searchable(samples, tmp_path / "doc.pdf", 4)


# -- Turning word boxes -------------------------------------------------------------------------


def test_rotate_words_turns_boxes_clockwise() -> None:
    word = Word("Total", 10, 20, 50, 30, 0.8)  # on a 300 x 200 page
    assert rotate_words([word], 300, 200, 0) == [word]
    assert rotate_words([word], 300, 200, 90) == [Word("Total", 170, 10, 180, 50, 0.8)]
    assert rotate_words([word], 300, 200, 180) == [Word("Total", 250, 170, 290, 180, 0.8)]
    assert rotate_words([word], 300, 200, 270) == [Word("Total", 20, 250, 30, 290, 0.8)]
    assert rotate_words([word], 300, 200, -90) == rotate_words([word], 300, 200, 270)
    assert rotate_words([word], 300, 200, 450) == rotate_words([word], 300, 200, 90)
    # Turning back undoes a turn.
    turned = rotate_words([word], 300, 200, 90)
    assert rotate_words(turned, 200, 300, -90) == [word]
    assert rotated_size(300, 200, 90) == (200, 300)
    assert rotated_size(300, 200, -180) == (300, 200)


@pytest.mark.parametrize("degrees", [45, 1, -30, True])
def test_rotation_must_be_a_quarter_turn(degrees: Any, doc: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="multiple of 90"):
        rotate_words([], 300, 200, degrees)
    with pytest.raises(ValueError, match="multiple of 90"):
        rotated_size(300, 200, degrees)
    with pytest.raises(ValueError, match="multiple of 90"):
        rotate_pages(doc, tmp_path / "out.pdf", {1: degrees})
    assert not (tmp_path / "out.pdf").exists()


@pytest.mark.parametrize("degrees", ANGLES)
def test_rotated_words_land_where_pdfium_reads_the_text(
    samples: Any, tmp_path: Path, degrees: int
) -> None:
    src = tmp_path / "letter.pdf"
    samples.pdf_with_visible_text(src, [("Invoice", 20, 40), ("42", 200, 150)], size=(300, 200))
    out = tmp_path / "turned.pdf"
    assert rotate_pages(src, out, {1: degrees}) == [PageOrigin(0, 1, degrees % 360)]

    expected = rotate_words(extract_text_layer(src, 0), 300, 200, degrees)
    assert_boxes(extract_text_layer(out, 0), expected, tolerance=1.0)
    assert inspect_pdf(out)[0] == pytest.approx(rotated_size(300, 200, degrees))


@pytest.mark.parametrize("degrees", ANGLES)
def test_rotated_words_land_where_pdfium_draws_the_ink(
    samples: Any, tmp_path: Path, degrees: int
) -> None:
    src = tmp_path / "letter.pdf"
    samples.pdf_with_visible_text(src, [("Invoice", 40, 60)], size=(300, 200))
    out = tmp_path / "turned.pdf"
    rotate_pages(src, out, {1: degrees})

    def ink(path: Path) -> Word:
        # At 72 dpi a pixel is a point: the ink's bounding box is in page coordinates.
        image = render_page(path, 0, dpi=72, grayscale=True).image
        box = ImageOps.invert(image).point(lambda value: 255 if value > 64 else 0).getbbox()
        assert box is not None
        return Word("ink", *box)

    assert_boxes([ink(out)], rotate_words([ink(src)], 300, 200, degrees), tolerance=1.0)


def test_rotation_adds_to_the_page_rotation_and_keeps_the_layer(
    samples: Any, tmp_path: Path
) -> None:
    # A landscape sheet scanned sideways: /Rotate 90, displayed 200 x 300.
    blank = samples.blank_pdf(tmp_path / "blank.pdf", [(300, 200)], rotation=90)
    src = tmp_path / "scan.pdf"
    words = [Word("Quarterly", 20, 30, 90, 44), Word("report", 100, 250, 150, 264)]
    write_searchable_pdf(blank, [words], src)
    before = extract_text_layer(src, 0)

    out = tmp_path / "turned.pdf"
    rotate_pages(src, out, {1: 90})
    with pypdfium2.PdfDocument(str(out)) as pdf:
        assert pdf[0].get_rotation() == 180
    assert_boxes(extract_text_layer(out, 0), rotate_words(before, 200, 300, 90), tolerance=1.0)


def test_inherited_page_attributes_come_along(samples: Any, tmp_path: Path) -> None:
    # Size and /Rotate set on the page tree, not on the page itself.
    src = tmp_path / "inherited.pdf"
    src.write_bytes(
        samples.handmade_pdf(
            [
                b"<< /Type /Catalog /Pages 2 0 R >>",
                b"<< /Type /Pages /Kids [3 0 R] /Count 1 /Rotate 90 /MediaBox [0 0 300 200] >>",
                b"<< /Type /Page /Parent 2 0 R >>",
            ]
        )
    )
    assert inspect_pdf(src) == [(200, 300)]
    extract_pages(src, tmp_path / "copy.pdf", [1])
    assert inspect_pdf(tmp_path / "copy.pdf") == [(200, 300)]
    rotate_pages(src, tmp_path / "turned.pdf", {1: 90})
    assert inspect_pdf(tmp_path / "turned.pdf") == [(300, 200)]


# -- Each operation -----------------------------------------------------------------------------


def test_rotate_pages_turns_only_the_pages_named(doc: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.pdf"
    origins = rotate_pages(doc, out, {2: 90, 4: -90})
    assert origins == [
        PageOrigin(0, 1),
        PageOrigin(0, 2, 90),
        PageOrigin(0, 3),
        PageOrigin(0, 4, 270),
    ]
    assert inspect_pdf(out) == [(301, 400), (400, 302), (303, 400), (400, 304)]
    assert texts(out) == texts(doc)


def test_reorder_pages(doc: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.pdf"
    assert reorder_pages(doc, out, [3, 1, 4, 2]) == [PageOrigin(0, n) for n in (3, 1, 4, 2)]
    assert widths(out) == [303, 301, 304, 302]
    assert texts(out) == ["Page3 text", "Page1 text", "Page4 text", "Page2 text"]


def test_delete_pages_leaves_their_content_out(doc: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.pdf"
    assert delete_pages(doc, out, [3, 1]) == [PageOrigin(0, 2), PageOrigin(0, 4)]
    assert widths(out) == [302, 304]
    assert texts(out) == ["Page2 text", "Page4 text"]
    # Nothing of a deleted page stays in the new file.
    assert out.stat().st_size < doc.stat().st_size * 0.75


def test_extract_pages_in_the_order_given(doc: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.pdf"
    assert extract_pages(doc, out, [4, 2]) == [PageOrigin(0, 4), PageOrigin(0, 2)]
    assert widths(out) == [304, 302]
    assert texts(out) == ["Page4 text", "Page2 text"]


def test_merge_pdfs(samples: Any, doc: Path, tmp_path: Path) -> None:
    other = searchable(samples, tmp_path / "other.pdf", 2, name="Other")
    out = tmp_path / "out.pdf"
    origins = merge_pdfs([other, doc], out)
    assert origins == [PageOrigin(0, 1), PageOrigin(0, 2), *(PageOrigin(1, n) for n in range(1, 5))]
    assert texts(out) == ["Other1 text", "Other2 text", *texts(doc)]
    with pytest.raises(ValueError, match="at least one"):
        merge_pdfs([], out)


def test_append_pages_at_the_end_or_after_a_page(samples: Any, doc: Path, tmp_path: Path) -> None:
    other = searchable(samples, tmp_path / "other.pdf", 3, name="Other")
    out = tmp_path / "out.pdf"
    origins = append_pages(doc, out, other, [3, 1])
    assert origins == [*(PageOrigin(0, n) for n in range(1, 5)), PageOrigin(1, 3), PageOrigin(1, 1)]
    assert texts(out) == [*texts(doc), "Other3 text", "Other1 text"]

    append_pages(doc, out, other, [2], after=1)
    assert texts(out) == ["Page1 text", "Other2 text", "Page2 text", "Page3 text", "Page4 text"]
    append_pages(doc, out, other, [2], after=0)
    assert texts(out)[:2] == ["Other2 text", "Page1 text"]


def test_operations_never_touch_the_source(samples: Any, doc: Path, tmp_path: Path) -> None:
    other = searchable(samples, tmp_path / "other.pdf", 2, name="Other")
    before = digest(doc), digest(other)
    out = tmp_path / "out.pdf"
    rotate_pages(doc, out, {1: 180})
    reorder_pages(doc, out, [4, 3, 2, 1])
    delete_pages(doc, out, [2])
    extract_pages(doc, out, [1])
    merge_pdfs([doc, other], out)
    append_pages(doc, out, other, [1])
    assert (digest(doc), digest(other)) == before
    # Overwriting a source is refused before anything is written.
    with pytest.raises(ValueError, match="must not overwrite its source"):
        delete_pages(doc, doc, [1])
    with pytest.raises(ValueError, match="must not overwrite its source"):
        append_pages(doc, tmp_path / "." / "other.pdf", other, [1])
    assert (digest(doc), digest(other)) == before


# -- Refusals -----------------------------------------------------------------------------------


def test_a_page_outside_the_document_is_refused(doc: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.pdf"
    with pytest.raises(DocumentError) as caught:
        delete_pages(doc, out, [5])
    assert caught.value.code is DocumentErrorCode.PAGE_OUT_OF_RANGE
    assert caught.value.message == "This document has 4 pages; there is no page 5."
    with pytest.raises(
        DocumentError, match=r"^This document has 4 pages; there are no pages 0, 7\.$"
    ):
        extract_pages(doc, out, [7, 1, 0])
    with pytest.raises(DocumentError, match=r"^This document has 4 pages; there is no page 9\.$"):
        rotate_pages(doc, out, {9: 90})
    with pytest.raises(DocumentError, match=r"there is no page 5\.$"):
        reorder_pages(doc, out, [1, 2, 3, 5])
    with pytest.raises(DocumentError, match=r"^This document has 4 pages; there is no page 9\.$"):
        append_pages(doc, out, doc.with_suffix(".blank.pdf"), [1], after=9)
    assert not out.exists()


def test_page_out_of_range_messages_count_pages_as_people_do() -> None:
    with pytest.raises(DocumentError, match=r"^This document has 1 page; there is no page 2\.$"):
        pages_after_extract(1, [2])
    with pytest.raises(
        DocumentError, match=r"^The other document has 3 pages; there is no page 4\.$"
    ):
        pages_after_append(2, 3, [4])
    with pytest.raises(TypeError, match="integers"):
        pages_after_delete(3, ["2"])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("operation", "code", "message"),
    [
        (lambda: pages_after_delete(3, []), "NO_PAGES_SELECTED", "No pages were chosen."),
        (lambda: pages_after_extract(3, []), "NO_PAGES_SELECTED", "No pages were chosen."),
        (lambda: pages_after_rotate(3, {}), "NO_PAGES_SELECTED", "No pages were chosen."),
        (lambda: pages_after_append(3, 2, []), "NO_PAGES_SELECTED", "No pages were chosen."),
        (
            lambda: pages_after_extract(3, [2, 1, 2]),
            "DUPLICATE_PAGE",
            "Page 2 was chosen more than once.",
        ),
        (
            lambda: pages_after_reorder(3, [1, 1, 2]),
            "DUPLICATE_PAGE",
            "Page 1 appears more than once in the new order.",
        ),
        (
            lambda: pages_after_reorder(3, [2, 3]),
            "INCOMPLETE_PAGE_ORDER",
            "The new order must place all 3 pages; it leaves out page 1.",
        ),
        (
            lambda: pages_after_reorder(4, [4, 2]),
            "INCOMPLETE_PAGE_ORDER",
            "The new order must place all 4 pages; it leaves out pages 1, 3.",
        ),
        (
            lambda: pages_after_delete(3, [3, 1, 2]),
            "CANNOT_DELETE_ALL_PAGES",
            "A document must keep at least one page; delete the whole document instead.",
        ),
    ],
)
def test_selections_that_make_no_sense_are_refused(operation: Any, code: str, message: str) -> None:
    with pytest.raises(PageSelectionError) as caught:
        operation()
    assert caught.value.code is PageSelectionErrorCode(code)
    assert caught.value.message == message
    assert caught.value.field == "pages"
    assert isinstance(caught.value, UserFacingError)


def test_refused_operations_write_nothing(doc: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.pdf"
    with pytest.raises(PageSelectionError):
        delete_pages(doc, out, [1, 2, 3, 4])
    with pytest.raises(PageSelectionError):
        reorder_pages(doc, out, [1, 2])
    assert not out.exists()
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".tmp-")] == []


def test_a_damaged_source_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\nnot really a pdf\n%%EOF\n")
    with pytest.raises(DocumentError) as caught:
        extract_pages(broken, tmp_path / "out.pdf", [1])
    assert caught.value.code is DocumentErrorCode.BROKEN_PDF


# -- The mapping on its own ---------------------------------------------------------------------


def test_page_mapping_without_files() -> None:
    assert pages_after_rotate(2, {2: 180}) == [PageOrigin(0, 1), PageOrigin(0, 2, 180)]
    assert pages_after_rotate(1, {1: 360}) == [PageOrigin(0, 1, 0)]
    assert [o.number for o in pages_after_reorder(3, [2, 3, 1])] == [2, 3, 1]
    assert [o.number for o in pages_after_delete(5, {2, 4})] == [1, 3, 5]
    assert [o.number for o in pages_after_extract(5, [5, 1])] == [5, 1]
    assert pages_after_merge([1, 2]) == [PageOrigin(0, 1), PageOrigin(1, 1), PageOrigin(1, 2)]
    assert pages_after_append(2, 3, [3], after=1) == [
        PageOrigin(0, 1),
        PageOrigin(1, 3),
        PageOrigin(0, 2),
    ]
