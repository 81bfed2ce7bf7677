"""Finding text lines with CRAFT on ONNX Runtime, the way EasyOCR does, at the scale the text
needs.

The maths follow EasyOCR 1.7 (``detection.test_net``, ``craft_utils.getDetBoxes`` and
``utils.group_text_box``, Apache 2.0 / MIT) with its ``readtext`` defaults, so that the fast
path finds the same lines as the torch path. Two things differ on purpose: the page is scaled
so that its letters land :data:`TARGET_LETTER_PX` high on CRAFT's input (instead of always
filling a 2560 px canvas), and each component's box is made inside its own bounding box
(EasyOCR scans the whole score map once per component, which costs seconds on a dense page).
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy
from numpy.typing import NDArray

CANVAS = 2560  # EasyOCR's largest detector input side
# Median letter (component) height on CRAFT's input. Measured on the bench pages: CER holds
# down to about 9 px and detection cost falls with the square of the scale.
TARGET_LETTER_PX = 11.0
_MEAN = numpy.array([0.485, 0.456, 0.406], dtype=numpy.float32) * 255
_STD = numpy.array([0.229, 0.224, 0.225], dtype=numpy.float32) * 255

# EasyOCR's readtext defaults.
TEXT_THRESHOLD, LOW_TEXT, LINK_THRESHOLD = 0.7, 0.4, 0.4
SLOPE_THS, YCENTER_THS, HEIGHT_THS, WIDTH_THS, ADD_MARGIN = 0.1, 0.5, 0.5, 0.5, 0.1
MIN_SIZE = 20

Box = list[int]  # x_min, x_max, y_min, y_max in page pixels
Quad = list[list[float]]  # four corners, clockwise from top-left


def detector_scale(letter_height: float | None, shape: tuple[int, int]) -> float:
    """The factor to scale an image of ``shape`` (h, w) by before CRAFT: letters to
    :data:`TARGET_LETTER_PX`, never more than twice up, never past EasyOCR's canvas."""
    canvas = min(1.0, CANVAS / max(shape))
    if letter_height is None:
        return canvas
    return min(canvas, 2.0, TARGET_LETTER_PX / letter_height)


def detect_polygons(session: Any, grey: NDArray[numpy.uint8], scale: float) -> list[NDArray[Any]]:
    """CRAFT's text boxes (4x2 corner arrays, in ``grey``'s pixels) for one image or band.

    The page is scaled while still greyscale and made three channels only at CRAFT's size.
    """
    height, width = grey.shape
    target_h, target_w = max(1, int(height * scale)), max(1, int(width * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(grey, (target_w, target_h), interpolation=interpolation)
    padded_h, padded_w = -(-target_h // 32) * 32, -(-target_w // 32) * 32
    # EasyOCR pads with zeros after normalising: the padding is "black" to CRAFT.
    batch = numpy.zeros((1, 3, padded_h, padded_w), dtype=numpy.float32)
    values = resized.astype(numpy.float32)
    for channel in range(3):
        batch[0, channel, :target_h, :target_w] = (values - _MEAN[channel]) / _STD[channel]
    del resized, values
    maps = session.run(None, {"image": batch})[0][0]
    # The score maps are half the input's resolution.
    boxes = _boxes_from_maps(maps[:, :, 0], maps[:, :, 1])
    ratio = 2.0 / scale
    return [box * ratio for box in boxes]


def _boxes_from_maps(text_map: NDArray[Any], link_map: NDArray[Any]) -> list[NDArray[Any]]:
    """EasyOCR's ``getDetBoxes_core`` (no polygons), each component handled in its own box."""
    map_h, map_w = text_map.shape
    text_score = text_map > LOW_TEXT
    link_score = link_map > LINK_THRESHOLD
    combined = (text_score | link_score).astype(numpy.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(combined, connectivity=4)
    boxes: list[NDArray[Any]] = []
    for k in range(1, count):
        size = int(stats[k, cv2.CC_STAT_AREA])
        if size < 10:
            continue
        x, y = int(stats[k, cv2.CC_STAT_LEFT]), int(stats[k, cv2.CC_STAT_TOP])
        w, h = int(stats[k, cv2.CC_STAT_WIDTH]), int(stats[k, cv2.CC_STAT_HEIGHT])
        niter = int(math.sqrt(size * min(w, h) / (w * h)) * 2)
        sx, sy = max(0, x - niter), max(0, y - niter)
        ex, ey = min(map_w, x + w + niter + 1), min(map_h, y + h + niter + 1)
        mine = labels[sy:ey, sx:ex] == k
        if float(text_map[sy:ey, sx:ex][mine].max()) < TEXT_THRESHOLD:
            continue
        segmap = mine.astype(numpy.uint8) * 255
        segmap[link_score[sy:ey, sx:ex] & ~text_score[sy:ey, sx:ex]] = 0  # drop link area
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (1 + niter, 1 + niter))
        segmap = cv2.dilate(segmap, kernel)
        ys, xs = numpy.nonzero(segmap)
        points = numpy.stack([xs + sx, ys + sy], axis=1).astype(numpy.int32)
        box = cv2.boxPoints(cv2.minAreaRect(points))
        side_a = numpy.linalg.norm(box[0] - box[1])
        side_b = numpy.linalg.norm(box[1] - box[2])
        if abs(1 - max(side_a, side_b) / (min(side_a, side_b) + 1e-5)) <= 0.1:
            left, right = points[:, 0].min(), points[:, 0].max()
            top, bottom = points[:, 1].min(), points[:, 1].max()
            box = numpy.array(
                [[left, top], [right, top], [right, bottom], [left, bottom]], dtype=numpy.float32
            )
        start = int(box.sum(axis=1).argmin())
        boxes.append(numpy.roll(box, 4 - start, 0))
    return boxes


def group_lines(polygons: list[NDArray[Any]]) -> tuple[list[Box], list[Quad]]:
    """EasyOCR's ``group_text_box`` with readtext's defaults, then its ``min_size`` filter:
    level boxes merged into line boxes, and tilted ones kept as quadrilaterals."""
    horizontal: list[list[float]] = []
    free: list[Quad] = []
    for polygon in polygons:
        poly: list[int] = polygon.astype(numpy.int32).reshape(-1).tolist()
        slope_up = (poly[3] - poly[1]) / max(10, poly[2] - poly[0])
        slope_down = (poly[5] - poly[7]) / max(10, poly[4] - poly[6])
        if max(abs(slope_up), abs(slope_down)) < SLOPE_THS:
            xs, ys = poly[0::2], poly[1::2]
            left, right, top, bottom = min(xs), max(xs), min(ys), max(ys)
            horizontal.append([left, right, top, bottom, 0.5 * (top + bottom), bottom - top])
        else:
            free.append(_widened_quad(poly))
    horizontal.sort(key=lambda item: item[4])

    rows: list[list[list[float]]] = []
    heights: list[float] = []
    centres: list[float] = []
    for level in horizontal:
        if rows and abs(numpy.mean(centres) - level[4]) < YCENTER_THS * numpy.mean(heights):
            heights.append(level[5])
            centres.append(level[4])
            rows[-1].append(level)
        else:
            heights, centres = [level[5]], [level[4]]
            rows.append([level])

    merged: list[Box] = []
    for row in rows:
        if len(row) == 1:
            only = row[0]
            margin = int(ADD_MARGIN * min(only[1] - only[0], only[5]))
            merged.append(
                _int_box(only[0] - margin, only[1] + margin, only[2] - margin, only[3] + margin)
            )
            continue
        groups: list[list[list[float]]] = []
        group_heights: list[float] = []
        reach = 0.0
        for level in sorted(row, key=lambda item: item[0]):
            if groups and (
                abs(numpy.mean(group_heights) - level[5]) < HEIGHT_THS * numpy.mean(group_heights)
                and (level[0] - reach) < WIDTH_THS * (level[3] - level[2])
            ):
                group_heights.append(level[5])
                groups[-1].append(level)
            else:
                group_heights = [level[5]]
                groups.append([level])
            reach = level[1]
        for group in groups:
            x0 = min(item[0] for item in group)
            x1 = max(item[1] for item in group)
            y0 = min(item[2] for item in group)
            y1 = max(item[3] for item in group)
            margin = int(ADD_MARGIN * min(x1 - x0, y1 - y0))
            merged.append(_int_box(x0 - margin, x1 + margin, y0 - margin, y1 + margin))

    merged = [box for box in merged if max(box[1] - box[0], box[3] - box[2]) > MIN_SIZE]
    free = [
        quad
        for quad in free
        if max(
            max(p[0] for p in quad) - min(p[0] for p in quad),
            max(p[1] for p in quad) - min(p[1] for p in quad),
        )
        > MIN_SIZE
    ]
    return merged, free


def _int_box(x0: float, x1: float, y0: float, y1: float) -> Box:
    return [int(x0), int(x1), int(y0), int(y1)]


def _widened_quad(poly: list[int]) -> Quad:
    height = float(numpy.hypot(poly[6] - poly[0], poly[7] - poly[1]))
    width = float(numpy.hypot(poly[2] - poly[0], poly[3] - poly[1]))
    margin = int(1.44 * ADD_MARGIN * min(width, height))
    theta13 = abs(math.atan((poly[1] - poly[5]) / max(10, poly[0] - poly[4])))
    theta24 = abs(math.atan((poly[3] - poly[7]) / max(10, poly[2] - poly[6])))
    return [
        [poly[0] - math.cos(theta13) * margin, poly[1] - math.sin(theta13) * margin],
        [poly[2] + math.cos(theta24) * margin, poly[3] - math.sin(theta24) * margin],
        [poly[4] + math.cos(theta13) * margin, poly[5] + math.sin(theta13) * margin],
        [poly[6] - math.cos(theta24) * margin, poly[7] + math.sin(theta24) * margin],
    ]
