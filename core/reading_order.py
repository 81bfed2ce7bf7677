"""Reading order: put an OCR engine's words in the order a person reads them.

Engines report words in their own order: EasyOCR roughly by detection position, so the lines of
two columns come out interleaved. :func:`reading_order` cuts the page into blocks along its
whitespace (a recursive XY-cut on the word boxes) and reads blocks and lines as people do:
columns one after the other, lines top to bottom, words along the line (right to left on lines
of Hebrew or Arabic). It needs only the boxes, so it serves every engine the same way.

How a block is cut, in this order of preference:

1. **Columns**: a vertical band of whitespace that runs the block's full height, at least
   ``GUTTER_HEIGHTS`` word heights wide, with prose on every side of it (lines of at least
   ``PROSE_WORDS_PER_LINE`` words on average). A table has such gutters too, but short cells
   between them: it is read row by row, each row left to right.
2. **A heading above columns** (or a footer below them): the topmost of the first
   ``HEADING_LINES`` line gaps below which the rest of the block splits into columns.
3. **Paragraphs**: the widest horizontal band of whitespace, when it is at least
   ``PARAGRAPH_HEIGHTS`` word heights tall (a paragraph or section break).

A block that none of these cut is a run of lines. A page scanned a little off level (0.2 to 6
degrees: a line of 2,000 px falls 70 px at 2 degrees, more than a line's height) is first
turned level in its boxes (:func:`_skew`), so its lines and columns are found as on a level
page. What it cannot see: columns that are not
separated by a clear gutter, and text in reading order that contradicts the geometry (a sidebar
meant to be read last).
"""

from __future__ import annotations

import math
import statistics
import unicodedata
from collections.abc import Sequence

from archivist.core.words import Word

# A gutter between columns is at least this many (median) word heights wide. Word spaces are
# about a third of a word height, so a band this wide that no word crosses on any line of the
# block is layout, not spacing.
GUTTER_HEIGHTS = 0.8
# Each side of a column split holds lines of at least this many words on average; short
# cells (a table's) are read row by row instead.
PROSE_WORDS_PER_LINE = 3.0
# A horizontal gap at least this many word heights tall separates paragraphs or sections.
PARAGRAPH_HEIGHTS = 1.0
# A heading over columns (or a footer under them) set as tightly as the text has at most this
# many lines.
HEADING_LINES = 3
# Blocks within blocks deeper than this are read as lines (a page has a few hundred lines at
# most; this bounds the recursion whatever an engine reports).
MAX_DEPTH = 200
# A page tilted less than this reads right level; up to the maximum, its lines are levelled
# first (deskewing scanners and the OCR engines level pages; this is for what is left).
SKEW_MIN_DEGREES = 0.2
SKEW_MAX_DEGREES = 6.0
# Levelling needs this many words to see lines, and must line the words up this much better.
SKEW_MIN_WORDS = 8
SKEW_GAIN = 1.15


def reading_order(words: Sequence[Word]) -> list[Word]:
    """The same words in reading order: blocks (columns, paragraphs), then lines, then words.

    Boxes may be in any unit with y growing downwards (page points or image pixels). Never
    raises for odd input: an empty list gives an empty list.
    """
    if not words:
        return []
    slope = _skew(words)
    if not slope:
        return _level_order(words)
    # Order boxes of a page levelled by the slope, then give back the words as they came.
    levelled = [_levelled(word, slope) for word in words]
    original = {id(level): word for level, word in zip(levelled, words, strict=True)}
    return [original[id(level)] for level in _level_order(levelled)]


def _level_order(words: Sequence[Word]) -> list[Word]:
    """:func:`reading_order` of words on a level page."""
    height = statistics.median(max(word.height, 1e-6) for word in words)
    rtl = is_rtl(words)
    ordered: list[Word] = []
    for block in _blocks(list(words), height, rtl):
        for line in _lines(block):
            ordered.extend(line)
    return ordered


def _skew(words: Sequence[Word]) -> float:
    """The slope (dy/dx) of the page's lines when the page is tilted enough to mix its lines
    up, else 0.

    A scan tilted by 2 degrees drops 70 px over a 2,000 px line, more than a line's height, so
    boxes taken level fall into the wrong lines. Each candidate slope shears the words' middles
    level and counts them into bands a third of a word high; the slope whose bands are the most
    crowded (lines lined up) wins, if it beats level by ``SKEW_GAIN``. Then the page's boxes are
    turned level (:func:`_levelled`) and ordered as any level page.
    """
    if len(words) < SKEW_MIN_WORDS:
        return 0.0
    height = statistics.median(max(word.height, 1e-6) for word in words)
    middles = [((word.x0 + word.x1) / 2, (word.y0 + word.y1) / 2) for word in words]
    band = height / 3

    def crowding(slope: float) -> int:
        counts: dict[int, int] = {}
        for x, y in middles:
            key = int((y - x * slope) // band)
            counts[key] = counts.get(key, 0) + 1
        return sum(count * count for count in counts.values())

    def best(slopes: list[float]) -> float:
        return max(slopes, key=lambda slope: (crowding(slope), -abs(slope)))

    limit = math.tan(math.radians(SKEW_MAX_DEGREES))
    steps = int(SKEW_MAX_DEGREES / 0.25)
    coarse = best([limit * n / steps for n in range(-steps, steps + 1)])
    fine_step = math.tan(math.radians(0.025))
    slope = best([coarse + fine_step * n for n in range(-10, 11)])
    if abs(slope) < math.tan(math.radians(SKEW_MIN_DEGREES)):
        return 0.0
    return slope if crowding(slope) > SKEW_GAIN * crowding(0.0) else 0.0


def _levelled(word: Word, slope: float) -> Word:
    """``word``'s box turned about the origin so that lines of this slope lie level (and
    columns upright), as high and wide as the word itself: a tilted word's box is taller by
    about its width times the slope, and wider by its height times it."""
    angle = math.atan(slope)
    cos, sin = math.cos(angle), math.sin(angle)
    x, y = (word.x0 + word.x1) / 2, (word.y0 + word.y1) / 2
    x, y = x * cos + y * sin, y * cos - x * sin
    half_high = max(word.height - word.width * abs(sin), word.height / 3) / 2
    half_wide = max(word.width - word.height * abs(sin), word.width / 3) / 2
    return Word(
        word.text, x - half_wide, y - half_high, x + half_wide, y + half_high, word.confidence
    )


def _strong_direction(text: str) -> tuple[int, int]:
    """(left-to-right, right-to-left) strong characters in ``text``."""
    ltr = rtl = 0
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind == "L":
            ltr += 1
        elif kind in ("R", "AL"):
            rtl += 1
    return ltr, rtl


def direction(text: str) -> bool | None:
    """True for a word written right to left, False left to right, None without letters
    (numbers, punctuation) or with as many of each."""
    ltr, rtl = _strong_direction(text)
    return None if ltr == rtl else rtl > ltr


def is_rtl(words: Sequence[Word]) -> bool:
    """Whether most strong characters of the words are written right to left."""
    ltr = rtl = 0
    for word in words:
        left, right = _strong_direction(word.text)
        ltr += left
        rtl += right
    return rtl > ltr


def _lines(block: Sequence[Word]) -> list[list[Word]]:
    """The block's words as lines, top to bottom; each line's words along its direction.

    A word joins a line when its vertical middle falls within the line's band.
    """
    lines: list[tuple[float, float, list[Word]]] = []  # (top, bottom, words)
    for word in sorted(block, key=lambda w: (w.y0 + w.y1) / 2):
        middle = (word.y0 + word.y1) / 2
        for index, (top, bottom, members) in enumerate(lines):
            if top <= middle <= bottom:
                members.append(word)
                lines[index] = (min(top, word.y0), max(bottom, word.y1), members)
                break
        else:
            lines.append((word.y0, word.y1, [word]))
    lines.sort(key=lambda line: line[0])
    result = []
    for _, _, members in lines:
        rtl = is_rtl(members)
        members.sort(key=lambda w: -w.x1 if rtl else w.x0)
        result.append(members)
    return result


def _gaps(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The empty stretches between the union of ``intervals`` (start, end), in order."""
    intervals.sort()
    gaps = []
    reach = intervals[0][1]
    for start, end in intervals[1:]:
        if start > reach:
            gaps.append((reach, start))
        reach = max(reach, end)
    return gaps


def _is_prose(words: Sequence[Word]) -> bool:
    lines = _lines(words)
    return len(words) / len(lines) >= PROSE_WORDS_PER_LINE


def _columns(words: list[Word], height: float) -> list[list[Word]] | None:
    """The block split at its full-height gutters, left to right; None when it has none."""
    if len(words) < 2:
        return None
    gutters = [
        (start, end)
        for start, end in _gaps([(w.x0, w.x1) for w in words])
        if end - start >= GUTTER_HEIGHTS * height
    ]
    if not gutters:
        return None
    columns: list[list[Word]] = [[] for _ in range(len(gutters) + 1)]
    for word in words:
        columns[sum(word.x0 >= end for _, end in gutters)].append(word)
    if not all(_is_prose(column) for column in columns):
        return None  # a table, or a form: read it row by row
    return columns


def _split_rows(words: list[Word], at: float) -> tuple[list[Word], list[Word]]:
    above = [w for w in words if (w.y0 + w.y1) / 2 < at]
    below = [w for w in words if (w.y0 + w.y1) / 2 >= at]
    return above, below


def _blocks(words: list[Word], height: float, rtl: bool, depth: int = 0) -> list[list[Word]]:
    """The words cut into blocks (see the module docstring), in reading order."""
    columns = _columns(words, height)
    if columns is not None:
        if rtl:
            columns.reverse()
        return [block for column in columns for block in _blocks(column, height, rtl, depth + 1)]
    gaps = _gaps([(w.y0, w.y1) for w in words])
    if not gaps or depth >= MAX_DEPTH:
        return [words]
    # A heading over columns first: a paragraph gap that runs across both columns may be
    # wider than the heading's, and cutting there first would read the columns in slabs.
    cut = _heading_cut(words, gaps, height)
    if cut is None:
        start, end = max(gaps, key=lambda gap: gap[1] - gap[0])
        if end - start < PARAGRAPH_HEIGHTS * height:
            return [words]
        cut = (start + end) / 2
    above, below = _split_rows(words, cut)
    if not above or not below:
        return [words]
    return _blocks(above, height, rtl, depth + 1) + _blocks(below, height, rtl, depth + 1)


def _heading_cut(words: list[Word], gaps: list[tuple[float, float]], height: float) -> float | None:
    """The topmost line gap below which the block splits into columns (a heading above
    them), else the bottommost one above which it does (a footer below them); None if none.
    Headings and footers are a few lines: only the first and last gaps are tried."""
    for start, end in gaps[:HEADING_LINES]:
        cut = (start + end) / 2
        if _columns(_split_rows(words, cut)[1], height) is not None:
            return cut
    for start, end in reversed(gaps[-HEADING_LINES:]):
        cut = (start + end) / 2
        if _columns(_split_rows(words, cut)[0], height) is not None:
            return cut
    return None
