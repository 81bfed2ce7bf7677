"""Reading text lines with EasyOCR's recogniser on ONNX Runtime, many lines per run.

The crops, the normalisation, the greedy CTC decoding, the confidence and the second,
contrast-stretched try for lines read with low confidence follow EasyOCR 1.7
(``utils.get_image_list``, ``recognition.get_text``; Apache 2.0). EasyOCR's CPU path runs the
recogniser once per line; here the lines of a page are sorted by width and run in batches of
similar widths, each padded (as EasyOCR pads) with its own last column, so that padding
stays short.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy
from numpy.typing import NDArray

from archivist.jobs.easyocr_export import RECOGNIZER_HEIGHT

CONTRAST_THS, ADJUST_CONTRAST = 0.1, 0.5  # EasyOCR's readtext defaults
BATCH_PIXELS = 64 * 4096 * 8  # about eight long lines per run: memory stays small
WIDTH_SLACK = 1.25  # a batch's widest line is at most this much wider than its narrowest


@dataclass(frozen=True)
class Line:
    """A crop to read and where it came from (four corners in page pixels)."""

    quad: list[list[float]]
    pixels: NDArray[numpy.uint8]  # greyscale, RECOGNIZER_HEIGHT high


def crop_lines(
    grey: NDArray[numpy.uint8],
    boxes: Sequence[Sequence[int]],
    quads: Sequence[Sequence[Sequence[float]]],
) -> list[Line]:
    """The line images for EasyOCR's recogniser: level boxes cut out, tilted ones unwarped,
    each scaled to the recogniser's height."""
    lines: list[Line] = []
    page_h, page_w = grey.shape
    for quad in quads:
        rect = numpy.array(quad, dtype=numpy.float32)
        width = int(max(numpy.linalg.norm(rect[2] - rect[3]), numpy.linalg.norm(rect[1] - rect[0])))
        height = int(
            max(numpy.linalg.norm(rect[1] - rect[2]), numpy.linalg.norm(rect[0] - rect[3]))
        )
        if width < 1 or height < 1:
            continue
        target = numpy.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]],
                             dtype=numpy.float32)  # fmt: skip
        warped = cv2.warpPerspective(
            grey, cv2.getPerspectiveTransform(rect, target), (width, height)
        )
        lines.append(Line([list(map(float, point)) for point in quad], _to_height(warped)))
    for x0, x1, y0, y1 in boxes:
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(x1, page_w), min(y1, page_h)
        if x1 - x0 < 1 or y1 - y0 < 1:
            continue
        quad = [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
        lines.append(Line([[float(x), float(y)] for x, y in quad], _to_height(grey[y0:y1, x0:x1])))
    lines.sort(key=lambda line: line.quad[0][1])  # top to bottom, as EasyOCR returns them
    return lines


def _to_height(crop: NDArray[Any]) -> NDArray[numpy.uint8]:
    # Tall (vertical) crops end up squeezed to the same height as in EasyOCR's two resizes.
    height, width = crop.shape
    new_width = max(1, math.ceil(RECOGNIZER_HEIGHT * width / height))
    resized = cv2.resize(crop, (new_width, RECOGNIZER_HEIGHT), interpolation=cv2.INTER_LINEAR)
    return numpy.asarray(resized, dtype=numpy.uint8)


def read_lines(
    session: Any, lines: Sequence[Line], characters: str, ignored: Sequence[int]
) -> list[tuple[str, float]]:
    """Text and confidence (0..1) of each line, in the order given."""
    results = _read_batched(session, [line.pixels for line in lines], characters, ignored)
    retry = [i for i, (_, confidence) in enumerate(results) if confidence < CONTRAST_THS]
    if retry:
        stretched = [_stretch_contrast(lines[i].pixels) for i in retry]
        for i, second in zip(
            retry, _read_batched(session, stretched, characters, ignored), strict=True
        ):
            if second[1] >= results[i][1]:
                results[i] = second
    return results


def _read_batched(
    session: Any, images: Sequence[NDArray[numpy.uint8]], characters: str, ignored: Sequence[int]
) -> list[tuple[str, float]]:
    results: list[tuple[str, float]] = [("", 0.0)] * len(images)
    order = sorted(range(len(images)), key=lambda i: _padded_width(images[i]))
    start = 0
    while start < len(order):
        end = start + 1
        widest = _padded_width(images[order[start]])
        while end < len(order):
            width = _padded_width(images[order[end]])
            if width > widest * WIDTH_SLACK and width > widest + RECOGNIZER_HEIGHT:
                break
            if (end - start + 1) * width * RECOGNIZER_HEIGHT > BATCH_PIXELS:
                break
            widest = width
            end += 1
        batch = [images[i] for i in order[start:end]]
        for i, result in zip(
            order[start:end], _read_batch(session, batch, widest, characters, ignored), strict=True
        ):
            results[i] = result
        start = end
    return results


def _padded_width(image: NDArray[numpy.uint8]) -> int:
    # EasyOCR pads each line to a whole number of heights (ceil of its aspect ratio).
    return math.ceil(image.shape[1] / RECOGNIZER_HEIGHT) * RECOGNIZER_HEIGHT


def _read_batch(
    session: Any,
    images: Sequence[NDArray[numpy.uint8]],
    width: int,
    characters: str,
    ignored: Sequence[int],
) -> list[tuple[str, float]]:
    batch = numpy.empty((len(images), 1, RECOGNIZER_HEIGHT, width), dtype=numpy.float32)
    for row, image in enumerate(images):
        values = image.astype(numpy.float32) / 127.5 - 1.0
        own = min(values.shape[1], width)
        batch[row, 0, :, :own] = values[:, :own]
        batch[row, 0, :, own:] = values[:, own - 1 : own]  # EasyOCR's NormalizePAD
    logits = session.run(None, {"line": batch})[0]
    return [_decode(sequence, characters, ignored) for sequence in logits]


def _decode(
    logits: NDArray[numpy.float32], characters: str, ignored: Sequence[int]
) -> tuple[str, float]:
    """Greedy CTC decoding and EasyOCR's confidence (its ``custom_mean``)."""
    shifted = numpy.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities = shifted / shifted.sum(axis=1, keepdims=True)
    if ignored:
        probabilities[:, list(ignored)] = 0.0
        probabilities /= probabilities.sum(axis=1, keepdims=True)
    best = probabilities.argmax(axis=1)
    keep = numpy.concatenate(([True], best[1:] != best[:-1])) & (best != 0)
    text = "".join(characters[index - 1] for index in best[keep])
    peaks = probabilities.max(axis=1)[best != 0]
    if len(peaks) == 0:
        return text, 0.0
    return text, float(peaks.prod() ** (2.0 / math.sqrt(len(peaks))))


def _stretch_contrast(image: NDArray[numpy.uint8]) -> NDArray[numpy.uint8]:
    """EasyOCR's ``adjust_contrast_grey``: a faint line stretched to full contrast."""
    high, low = numpy.percentile(image, 90), numpy.percentile(image, 10)
    if (high - low) / max(10, high + low) >= ADJUST_CONTRAST:
        return image
    ratio = 200.0 / max(10, high - low)
    stretched = (image.astype(numpy.float32) - low + 25) * ratio
    return numpy.clip(stretched, 0, 255).astype(numpy.uint8)
