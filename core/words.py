"""A word on a page and its box: what OCR engines produce and what a PDF's text layer yields.

Coordinates: ``Word`` boxes are in PAGE coordinates, in PDF points (1/72 inch), origin at the
top-left corner of the page as it is displayed (its /Rotate applied, cropped to its crop box),
x to the right, y downwards; ``x0 <= x1`` and ``y0 <= y1``. OCR engines return the same type
with boxes in IMAGE pixels (same orientation, origin top-left); :func:`image_words_to_page`
maps them to page points with the scale :func:`archivist.core.pdf.render_page` used.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Word:
    """One word and its box (see the module docstring for the coordinate system).

    ``confidence`` is 0..1; words from a PDF's own text layer have 1.0.
    """

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    confidence: float = 1.0

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def scaled(self, factor: float) -> Word:
        """This word with its box multiplied by ``factor`` (text and confidence unchanged)."""
        return Word(
            self.text,
            self.x0 * factor,
            self.y0 * factor,
            self.x1 * factor,
            self.y1 * factor,
            self.confidence,
        )


def image_words_to_page(words: Iterable[Word], scale: float) -> list[Word]:
    """Map words with boxes in image pixels to page points.

    ``scale`` is pixels per point, as returned by ``render_page`` (``RenderedPage.scale``);
    raises ``ValueError`` if it is not positive.
    """
    if scale <= 0:
        raise ValueError(f"scale must be positive, not {scale!r}")
    return [word.scaled(1.0 / scale) for word in words]
