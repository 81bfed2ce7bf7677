"""How big the text on a page is, and where on the page there is any: read from the ink.

CRAFT (EasyOCR's text detector) finds text as well at a fraction of EasyOCR's 2560 px canvas
when the letters still land a few pixels high on its input, and its cost grows with the pixels
it is given. :func:`measure_ink` binarises the page (adaptive threshold, so that a photograph
with uneven light does not turn a dark corner into ink), takes the connected components that
look like letters (not specks of scanner noise, not rules or pictures) and returns their median
height and the bands of rows that hold them. Blank pages and blank bands are then skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy
from numpy.typing import NDArray

# Fewer letter-like components than this and the estimate is not trusted (the caller then
# detects at EasyOCR's own scale).
MIN_LETTERS = 8


@dataclass(frozen=True)
class Ink:
    """What :func:`measure_ink` found: median letter height in pixels (``None`` when too few
    letters to tell; the one region is then the whole page), and the regions
    ``(top, bottom, left, right)`` that hold letters: bands of rows, each as wide as its letters
    reach."""

    letter_height: float | None
    bands: list[tuple[int, int, int, int]]
    letters: int


def measure_ink(grey: NDArray[numpy.uint8]) -> Ink:
    """Letter height and text bands of a greyscale page (0 black, 255 white)."""
    height, width = grey.shape
    # Measure on a copy at most ~1600 px on its long side: components are as telling, and
    # it keeps this step at a few tens of milliseconds.
    factor = min(1.0, 1600 / max(height, width))
    small = grey if factor == 1.0 else cv2.resize(grey, None, fx=factor, fy=factor,
                                                  interpolation=cv2.INTER_AREA)  # fmt: skip
    block = max(15, (round(min(small.shape) / 20) | 1))
    ink = cv2.adaptiveThreshold(
        small, 1, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 12
    )
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if count <= 1:
        return Ink(None, [], 0)
    stats = stats[1:]
    w, h, area = (
        stats[:, cv2.CC_STAT_WIDTH],
        stats[:, cv2.CC_STAT_HEIGHT],
        stats[:, cv2.CC_STAT_AREA],
    )
    fill = area / numpy.maximum(w * h, 1)
    letters = (
        (h >= 3)
        & (h <= max(small.shape) / 8)
        & (w <= h * 4)  # a letter, or a few touching ones; not a rule or a table line
        & (w * 8 >= h)  # not a vertical rule
        & (fill >= 0.08)
        & (area >= 6)  # not a speck of noise
    )
    found = int(letters.sum())
    if found < MIN_LETTERS:
        if not (area >= 6).any():
            return Ink(None, [], 0)  # no ink but specks: blank
        # Ink that does not look like enough letters (a few huge ones, a drawing): detect on
        # the whole page at EasyOCR's own scale rather than guess.
        return Ink(None, [(0, height, 0, width)], found)
    heights = h[letters]
    letter_height = float(numpy.median(heights)) / factor
    # Rows holding letters, widened by a letter height so that a line's ascenders, descenders
    # and the gap to the next line stay in one band.
    rows = numpy.zeros(small.shape[0] + 1, dtype=numpy.int32)
    tops = stats[letters, cv2.CC_STAT_TOP]
    pad = int(numpy.median(heights)) + 2
    numpy.add.at(rows, numpy.clip(tops - pad, 0, small.shape[0]), 1)
    numpy.add.at(rows, numpy.clip(tops + heights + pad, 0, small.shape[0]), -1)
    covered = numpy.cumsum(rows)[:-1] > 0
    lefts, rights = stats[letters, cv2.CC_STAT_LEFT], stats[letters, cv2.CC_STAT_LEFT] + w[letters]
    regions = []
    for top, bottom in _runs(covered, gap=pad * 3):
        inside = (tops < bottom) & (tops + heights > top)
        left, right = int(lefts[inside].min()) - pad, int(rights[inside].max()) + pad
        regions.append((
            int(top / factor),
            min(height, round(bottom / factor) + 1),
            max(0, int(left / factor)),
            min(width, round(right / factor) + 1),
        ))  # fmt: skip
    return Ink(letter_height, regions, found)


def _runs(covered: NDArray[numpy.bool_], gap: int) -> list[tuple[int, int]]:
    """Runs of True rows as (top, bottom), joining runs closer than ``gap`` rows."""
    edges = numpy.flatnonzero(numpy.diff(numpy.concatenate(([0], covered.astype(int), [0]))))
    runs = [(int(edges[i]), int(edges[i + 1])) for i in range(0, len(edges), 2)]
    joined: list[tuple[int, int]] = []
    for top, bottom in runs:
        if joined and top - joined[-1][1] < gap:
            joined[-1] = (joined[-1][0], bottom)
        else:
            joined.append((top, bottom))
    return joined
