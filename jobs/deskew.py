"""Straightening a slightly rotated scan before OCR, and mapping boxes back onto it.

A page fed a little crooked (1-3 degrees) defeats EasyOCR's line grouping: a long line drifts
into the next one and their words interleave. :func:`levelling_angle` finds the angle at which the
rows of ink line up best (the variance of the row sums peaks when lines are level), measured
on a small binarised copy so it costs tens of milliseconds. :class:`Straightened` rotates the
page by it and maps corners found on the straightened page back to the original's pixels, so
word boxes still land on the page the user sees.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy
from numpy.typing import NDArray

MAX_ANGLE = 5.0  # degrees; more than this is a rotated page, not a crooked one
MIN_ANGLE = 0.3  # below this the lines are level enough for EasyOCR's grouping


def levelling_angle(grey: NDArray[numpy.uint8]) -> float:
    """The rotation in degrees (counter-clockwise positive, as OpenCV turns) that levels the
    page's text lines; 0.0 when there is too little ink to tell."""
    factor = min(1.0, 1000 / max(grey.shape))
    small = cv2.resize(grey, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    block = max(15, round(min(small.shape) / 20) | 1)
    ink = cv2.adaptiveThreshold(
        small, 1, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 12
    ).astype(numpy.float32)
    if ink.sum() < 200:
        return 0.0
    height, width = ink.shape
    centre = (width / 2, height / 2)

    def sharpness(angle: float) -> float:
        matrix = cv2.getRotationMatrix2D(centre, angle, 1.0)
        rotated = cv2.warpAffine(ink, matrix, (width, height), flags=cv2.INTER_NEAREST)
        return float(numpy.var(rotated.sum(axis=1)))

    coarse = numpy.arange(-MAX_ANGLE, MAX_ANGLE + 0.01, 0.25)
    best = float(coarse[int(numpy.argmax([sharpness(a) for a in coarse]))])
    fine = numpy.arange(best - 0.25, best + 0.26, 0.05)
    return float(fine[int(numpy.argmax([sharpness(a) for a in fine]))])


@dataclass(frozen=True)
class Straightened:
    """A page rotated level (``grey``) and how to map its points back (``inverse``)."""

    grey: NDArray[numpy.uint8]
    inverse: NDArray[numpy.float64] | None  # 2x3 affine matrix; None when not rotated

    @classmethod
    def of(cls, grey: NDArray[numpy.uint8]) -> Straightened:
        """The page straightened when it is tilted by more than :data:`MIN_ANGLE` degrees."""
        angle = levelling_angle(grey)
        if abs(angle) < MIN_ANGLE:
            return cls(grey, None)
        height, width = grey.shape
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
        level = cv2.warpAffine(
            grey, matrix, (width, height), flags=cv2.INTER_LINEAR, borderValue=255
        )
        inverse = numpy.asarray(cv2.invertAffineTransform(matrix), dtype=numpy.float64)
        return cls(numpy.asarray(level, dtype=numpy.uint8), inverse)

    def to_page(self, quad: list[list[float]]) -> list[list[float]]:
        """Corners on the straightened page as corners on the original page."""
        if self.inverse is None:
            return quad
        points = numpy.asarray(quad, dtype=numpy.float64)
        mapped = points @ self.inverse[:, :2].T + self.inverse[:, 2]
        return [[float(x), float(y)] for x, y in mapped]
