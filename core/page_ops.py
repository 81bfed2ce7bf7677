"""Page edits of a document: rotate, reorder, delete, extract, merge, append; each writes a new PDF.

Every edit makes a new version, so nothing here changes a file in place: each operation reads
its sources and writes a new PDF atomically to ``out``. The new PDF is built from a fresh
document into which the kept pages are imported, so a deleted page (and anything only it
referred to) is really gone from the new file. Pages keep their content, including an
invisible text layer (:func:`archivist.core.text_layer.write_searchable_pdf`), and the
attributes they inherit (size, /Rotate); document-level parts (the information dictionary,
bookmarks, attachments, form dictionary) are not carried over, only the viewer preferences.

Each operation returns the new pages' origins (:class:`PageOrigin`), the same list its
``pages_after_*`` function computes without touching a file: which source page each new page
came from and by how much it was turned, so the caller copies page rows (text, words, size) to
the new version without running OCR again, turning words with :func:`rotate_words` and sizes
with :func:`rotated_size`.

Page numbers are 1-based, as people count them. A page number outside the document raises
:class:`DocumentError` (``PAGE_OUT_OF_RANGE``); a selection that makes no sense (empty, a page
twice, not a complete order, every page deleted) raises :class:`PageSelectionError`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import pypdfium2
import pypdfium2.raw as pdfium_c

from archivist.core.atomic_write import atomic_write
from archivist.core.document_errors import DocumentError, DocumentErrorCode
from archivist.core.errors import UserFacingError
from archivist.core.pdf import open_pdf
from archivist.core.words import Word

PathLike = str | os.PathLike[str]


class PageSelectionErrorCode(StrEnum):
    """Why a page selection was refused; the values are part of the API (``UserError.code``)."""

    NO_PAGES_SELECTED = "NO_PAGES_SELECTED"
    DUPLICATE_PAGE = "DUPLICATE_PAGE"
    INCOMPLETE_PAGE_ORDER = "INCOMPLETE_PAGE_ORDER"
    CANNOT_DELETE_ALL_PAGES = "CANNOT_DELETE_ALL_PAGES"


class PageSelectionError(UserFacingError):
    """The pages chosen for an edit do not make sense; ``field`` is ``"pages"``."""

    code: PageSelectionErrorCode

    def __init__(self, code: PageSelectionErrorCode, message: str) -> None:
        super().__init__(code, message, field="pages")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code.value!r}, {self.message!r})"


@dataclass(frozen=True, slots=True)
class PageOrigin:
    """Where one page of an edit's result comes from.

    ``source`` is the index of the input it was taken from (0 for single-document edits; the
    position in ``sources`` for a merge; 0 the target and 1 the other document for an append),
    ``number`` its 1-based page number there, ``rotation`` the degrees clockwise (0, 90, 180 or
    270) the edit turned it by, to apply to its words and size.
    """

    source: int
    number: int
    rotation: int = 0


# -- Turning word boxes -------------------------------------------------------------------------


def _quarter_turns(degrees: int) -> int:
    """Clockwise quarter turns (0..3) of ``degrees``; ``ValueError`` unless a multiple of 90."""
    if isinstance(degrees, bool) or not isinstance(degrees, int) or degrees % 90:
        raise ValueError(f"a page turns by a multiple of 90 degrees, not {degrees!r}")
    return (degrees // 90) % 4


def rotated_size(width: float, height: float, degrees: int) -> tuple[float, float]:
    """The displayed size of a ``width`` x ``height`` page after turning it clockwise by
    ``degrees``; raises ``ValueError`` unless ``degrees`` is a multiple of 90 (negative is
    counter-clockwise)."""
    return (height, width) if _quarter_turns(degrees) % 2 else (width, height)


def rotate_words(words: Iterable[Word], width: float, height: float, degrees: int) -> list[Word]:
    """The word boxes of a ``width`` x ``height`` page (as displayed) after turning the page
    clockwise by ``degrees``, in the turned page's coordinates (see :mod:`archivist.core.words`).

    Text and confidence are unchanged. Raises ``ValueError`` unless ``degrees`` is a multiple of
    90; boxes outside the page are turned all the same.
    """
    turns = _quarter_turns(degrees)
    # Each quarter turn clockwise maps (x, y) on a w x h page to (h - y, x) on an h x w page.
    turned: list[Word] = []
    for word in words:
        x0, y0, x1, y1 = word.x0, word.y0, word.x1, word.y1
        w, h = width, height
        for _ in range(turns):
            x0, y0, x1, y1 = h - y1, x0, h - y0, x1
            w, h = h, w
        turned.append(Word(word.text, x0, y0, x1, y1, word.confidence))
    return turned


# -- Which page goes where ----------------------------------------------------------------------


def _pages(count: int) -> str:
    return f"{count} page" if count == 1 else f"{count} pages"


def _check_numbers(numbers: Iterable[int], page_count: int, document: str) -> list[int]:
    """``numbers`` as a list, each a page of a ``page_count``-page document.

    Raises ``TypeError`` for a number that is not an ``int`` and :class:`DocumentError`
    (``PAGE_OUT_OF_RANGE``) for one outside the document.
    """
    checked = list(numbers)
    for number in checked:
        if isinstance(number, bool) or not isinstance(number, int):
            raise TypeError(f"page numbers are integers, not {number!r}")
    missing = sorted({number for number in checked if not 1 <= number <= page_count})
    if missing:
        listed = ", ".join(str(number) for number in missing)
        there = (
            f"there is no page {listed}" if len(missing) == 1 else f"there are no pages {listed}"
        )
        raise DocumentError(
            DocumentErrorCode.PAGE_OUT_OF_RANGE,
            f"{document} has {_pages(page_count)}; {there}.",
        )
    return checked


def _check_selection(numbers: Iterable[int], page_count: int, document: str) -> list[int]:
    """A non-empty selection of distinct pages, in the order given."""
    checked = _check_numbers(numbers, page_count, document)
    if not checked:
        raise PageSelectionError(PageSelectionErrorCode.NO_PAGES_SELECTED, "No pages were chosen.")
    seen: set[int] = set()
    for number in checked:
        if number in seen:
            raise PageSelectionError(
                PageSelectionErrorCode.DUPLICATE_PAGE, f"Page {number} was chosen more than once."
            )
        seen.add(number)
    return checked


def pages_after_rotate(page_count: int, rotations: Mapping[int, int]) -> list[PageOrigin]:
    """The pages after turning page ``n`` clockwise by ``rotations[n]`` degrees.

    Raises :class:`DocumentError` (``PAGE_OUT_OF_RANGE``), :class:`PageSelectionError`
    (``NO_PAGES_SELECTED`` for an empty mapping) and ``ValueError`` for an angle that is not a
    multiple of 90.
    """
    _check_selection(rotations, page_count, "This document")
    turns = {number: _quarter_turns(degrees) for number, degrees in rotations.items()}
    return [PageOrigin(0, number, turns.get(number, 0) * 90) for number in range(1, page_count + 1)]


def pages_after_reorder(page_count: int, order: Sequence[int]) -> list[PageOrigin]:
    """The pages in a new ``order``: ``order[i]`` is the old number of the new page ``i + 1``.

    ``order`` must name every page once. Raises :class:`DocumentError` (``PAGE_OUT_OF_RANGE``)
    and :class:`PageSelectionError` (``DUPLICATE_PAGE``, ``INCOMPLETE_PAGE_ORDER``).
    """
    checked = _check_numbers(order, page_count, "This document")
    if len(set(checked)) == len(checked) == page_count:
        return [PageOrigin(0, number) for number in checked]
    counted: dict[int, int] = {}
    for number in checked:
        counted[number] = counted.get(number, 0) + 1
    twice = [number for number, times in counted.items() if times > 1]
    if twice:
        raise PageSelectionError(
            PageSelectionErrorCode.DUPLICATE_PAGE,
            f"Page {twice[0]} appears more than once in the new order.",
        )
    left_out = [number for number in range(1, page_count + 1) if number not in counted]
    listed = ", ".join(str(number) for number in left_out)
    raise PageSelectionError(
        PageSelectionErrorCode.INCOMPLETE_PAGE_ORDER,
        f"The new order must place all {_pages(page_count)}; "
        f"it leaves out page{'s' if len(left_out) > 1 else ''} {listed}.",
    )


def pages_after_delete(page_count: int, numbers: Iterable[int]) -> list[PageOrigin]:
    """The pages left after deleting ``numbers`` (in any order, each once).

    Raises :class:`DocumentError` (``PAGE_OUT_OF_RANGE``) and :class:`PageSelectionError`
    (``NO_PAGES_SELECTED``, ``DUPLICATE_PAGE``, ``CANNOT_DELETE_ALL_PAGES``: a document keeps at
    least one page; delete the document instead).
    """
    doomed = set(_check_selection(numbers, page_count, "This document"))
    if len(doomed) == page_count:
        raise PageSelectionError(
            PageSelectionErrorCode.CANNOT_DELETE_ALL_PAGES,
            "A document must keep at least one page; delete the whole document instead.",
        )
    return [PageOrigin(0, number) for number in range(1, page_count + 1) if number not in doomed]


def pages_after_extract(page_count: int, numbers: Sequence[int]) -> list[PageOrigin]:
    """The pages of a new document made of ``numbers``, in that order.

    Raises :class:`DocumentError` (``PAGE_OUT_OF_RANGE``) and :class:`PageSelectionError`
    (``NO_PAGES_SELECTED``, ``DUPLICATE_PAGE``).
    """
    return [
        PageOrigin(0, number) for number in _check_selection(numbers, page_count, "This document")
    ]


def pages_after_merge(page_counts: Sequence[int]) -> list[PageOrigin]:
    """The pages of documents joined one after the other, ``page_counts[i]`` pages each.

    Raises ``ValueError`` when there are no documents.
    """
    if not page_counts:
        raise ValueError("merging needs at least one document")
    return [
        PageOrigin(source, number)
        for source, count in enumerate(page_counts)
        for number in range(1, count + 1)
    ]


def pages_after_append(
    target_count: int, other_count: int, numbers: Sequence[int], *, after: int | None = None
) -> list[PageOrigin]:
    """The target's pages (source 0) with pages ``numbers`` of another document (source 1).

    The pages go after target page ``after`` (0: before the first; ``None``: at the end).
    Raises :class:`DocumentError` (``PAGE_OUT_OF_RANGE``, for ``numbers`` or ``after``) and
    :class:`PageSelectionError` (``NO_PAGES_SELECTED``, ``DUPLICATE_PAGE``).
    """
    taken = _check_selection(numbers, other_count, "The other document")
    if after is None:
        after = target_count
    elif after != 0:
        _check_numbers([after], target_count, "This document")
    target = [PageOrigin(0, number) for number in range(1, target_count + 1)]
    return [*target[:after], *(PageOrigin(1, number) for number in taken), *target[after:]]


# -- Writing the new PDF ------------------------------------------------------------------------


def _same_file(a: PathLike, b: PathLike) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # ``out`` does not exist yet
        return os.path.abspath(a) == os.path.abspath(b)


def _rewrite(
    sources: Sequence[PathLike],
    out: PathLike,
    plan: Callable[[list[int]], list[PageOrigin]],
) -> list[PageOrigin]:
    """Open ``sources``, ask ``plan`` for the new pages given their page counts, write them.

    Raises ``ValueError`` when ``out`` is one of the sources, whatever ``plan`` raises,
    :class:`DocumentError` (``BROKEN_PDF``, ``ENCRYPTED``) for an unreadable source or a page
    PDFium cannot copy, and ``OSError`` when ``out`` cannot be written. ``out`` is only
    replaced by a complete new PDF; on any error it is left as it was.
    """
    for source in sources:
        if _same_file(source, out):
            raise ValueError(f"the new PDF must not overwrite its source {os.fspath(source)!r}")
    with contextlib.ExitStack() as stack:
        pdfs = [stack.enter_context(open_pdf(source)) for source in sources]
        origins = plan([len(pdf) for pdf in pdfs])
        result = pypdfium2.PdfDocument.new()
        stack.callback(result.close)
        try:
            # One import per run of pages from the same source keeps shared resources shared.
            start = 0
            while start < len(origins):
                end = start
                while end < len(origins) and origins[end].source == origins[start].source:
                    end += 1
                indexes = [origin.number - 1 for origin in origins[start:end]]
                result.import_pages(pdfs[origins[start].source], indexes)
                start = end
            for index, origin in enumerate(origins):
                if origin.rotation:
                    page = result.get_page(index)
                    try:
                        page.set_rotation((page.get_rotation() + origin.rotation) % 360)
                    finally:
                        page.close()
            pdfium_c.FPDF_CopyViewerPreferences(result.raw, pdfs[0].raw)
            with atomic_write(out) as file:
                result.save(file)
        except pypdfium2.PdfiumError as error:
            raise DocumentError(
                DocumentErrorCode.BROKEN_PDF,
                "The pages of this PDF could not be copied; it may be damaged. "
                "Export or scan it again.",
            ) from error
    return origins


def rotate_pages(src: PathLike, out: PathLike, rotations: Mapping[int, int]) -> list[PageOrigin]:
    """Write ``src`` to ``out`` with page ``n`` turned clockwise by ``rotations[n]`` degrees
    more than it is now (negative turns counter-clockwise). Returns the new pages' origins.

    Raises what :func:`pages_after_rotate` raises, and :class:`DocumentError` for an
    unreadable source; ``ValueError`` when ``out`` is ``src``.
    """
    return _rewrite([src], out, lambda counts: pages_after_rotate(counts[0], rotations))


def reorder_pages(src: PathLike, out: PathLike, order: Sequence[int]) -> list[PageOrigin]:
    """Write ``src``'s pages to ``out`` in ``order`` (old page numbers, each page once).

    Raises what :func:`pages_after_reorder` raises, and :class:`DocumentError` for an
    unreadable source; ``ValueError`` when ``out`` is ``src``.
    """
    return _rewrite([src], out, lambda counts: pages_after_reorder(counts[0], order))


def delete_pages(src: PathLike, out: PathLike, numbers: Iterable[int]) -> list[PageOrigin]:
    """Write ``src`` to ``out`` without pages ``numbers``; their content is not in ``out``.

    Raises what :func:`pages_after_delete` raises (deleting every page is refused), and
    :class:`DocumentError` for an unreadable source; ``ValueError`` when ``out`` is ``src``.
    """
    return _rewrite([src], out, lambda counts: pages_after_delete(counts[0], numbers))


def extract_pages(src: PathLike, out: PathLike, numbers: Sequence[int]) -> list[PageOrigin]:
    """Write a new PDF to ``out`` of ``src``'s pages ``numbers``, in that order.

    Raises what :func:`pages_after_extract` raises, and :class:`DocumentError` for an
    unreadable source; ``ValueError`` when ``out`` is ``src``.
    """
    return _rewrite([src], out, lambda counts: pages_after_extract(counts[0], numbers))


def merge_pdfs(sources: Sequence[PathLike], out: PathLike) -> list[PageOrigin]:
    """Write the pages of all ``sources``, one document after the other, to ``out``.

    Raises ``ValueError`` for no sources or an ``out`` that is one of them, and
    :class:`DocumentError` for an unreadable source.
    """
    return _rewrite(sources, out, pages_after_merge)


def append_pages(
    target_src: PathLike,
    out: PathLike,
    other_src: PathLike,
    numbers: Sequence[int],
    *,
    after: int | None = None,
) -> list[PageOrigin]:
    """Write ``target_src`` to ``out`` with pages ``numbers`` of ``other_src`` added, after
    target page ``after`` (0: at the front; ``None``: at the end).

    Moving pages into another document is this, then :func:`delete_pages` on ``other_src``.
    Raises what :func:`pages_after_append` raises, and :class:`DocumentError` for an unreadable
    source; ``ValueError`` when ``out`` is one of the sources.
    """
    return _rewrite(
        [target_src, other_src],
        out,
        lambda counts: pages_after_append(counts[0], counts[1], numbers, after=after),
    )
