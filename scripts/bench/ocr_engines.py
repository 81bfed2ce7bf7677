"""Benchmark the OCR engines on generated A4 pages with known text.

Run: ``.venv/bin/python scripts/bench/ocr_engines.py [--pages 2] [--engines easyocr tesseract]
[--processes 1 2] [--dpi 300]``

Pages are A4 at 300 dpi with a few paragraphs of 10 pt text drawn by Pillow, generated in each
worker from a seed (nothing is downloaded, nothing is passed between processes but numbers).
For every engine and process count it prints: seconds per page, the peak memory (RSS) of an
OCR process (including Tesseract's own subprocess), the character error rate against the
drawn text, and pages per minute with that many OCR processes running side by side. Each
process loads its engine once (the load time is printed apart) and then OCRs ``--pages``
pages; all processes start OCR together.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import resource
import sys
import textwrap
import time
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw, ImageFont

A4_POINTS = (595.0, 842.0)
_WORDS = (
    "invoice payment total amount account date number customer order contract delivery "
    "address company service period balance reference tax rate price quantity description "
    "the of and to in is that for it as was with be by on not this are or from at which have "
    "an they you were their has would when if will can more other its into than them some "
    "could time only may new about archive document folder page scanned letter insurance "
    "policy claim report meeting minutes agreement signature office department manager"
)
_VOCABULARY = _WORDS.split()


def page_text(index: int, seed: int = 7) -> str:
    """The known text of page ``index``: four paragraphs of made-up office prose."""
    rng = random.Random(seed * 100_003 + index)
    paragraphs = []
    for _ in range(4):
        words = [rng.choice(_VOCABULARY) for _ in range(rng.randint(60, 90))]
        words += [str(rng.randint(10, 99999)) for _ in range(4)]
        rng.shuffle(words)
        paragraphs.append(" ".join(words).capitalize() + ".")
    return "\n\n".join(paragraphs)


def draw_page(index: int, dpi: int) -> tuple[Image.Image, str]:
    """Page ``index`` as a white A4 picture at ``dpi`` and the text drawn on it."""
    size = (round(A4_POINTS[0] * dpi / 72), round(A4_POINTS[1] * dpi / 72))
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=round(10 * dpi / 72))  # 10 pt type
    margin, line_height = round(size[0] * 0.1), round(14 * dpi / 72)
    drawn: list[str] = []
    y = margin
    for paragraph in page_text(index).split("\n\n"):
        # About 80 characters fit a line of 10 pt type between 2 cm margins.
        for line in textwrap.wrap(paragraph, width=80):
            draw.text((margin, y), line, fill="black", font=font)
            drawn.append(line)
            y += line_height
        y += line_height
    return image, " ".join(drawn)


def character_error_rate(expected: str, got: str) -> float:
    """Levenshtein distance divided by the expected length (spaces normalised)."""
    expected, got = " ".join(expected.split()), " ".join(got.split())
    previous = list(range(len(got) + 1))
    for i, a in enumerate(expected, start=1):
        current = [i]
        for j, b in enumerate(got, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
    return previous[-1] / max(len(expected), 1)


@dataclass
class WorkerResult:
    load_s: float
    page_seconds: list[float]
    error_rates: list[float]
    peak_rss_mib: float
    finished_at: float


def _worker(
    engine_name: str,
    options: dict[str, Any],
    page_indexes: list[int],
    dpi: int,
    start: Any,
    results: Any,
) -> None:
    from archivist.jobs.ocr_engines import get_engine

    began = time.perf_counter()
    engine = get_engine(engine_name, **options)
    # Load the model now (EasyOCR) or find the binary (Tesseract): not part of the page times.
    engine.recognize(Image.new("RGB", (200, 60), "white"), ["en"])
    load_s = time.perf_counter() - began
    pages = [draw_page(index, dpi) for index in page_indexes]
    start.wait()
    seconds, rates = [], []
    for image, text in pages:
        t0 = time.perf_counter()
        words = engine.recognize(image, ["en"])
        seconds.append(time.perf_counter() - t0)
        rates.append(character_error_rate(text, " ".join(word.text for word in words)))
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    results.put(WorkerResult(load_s, seconds, rates, max(own, children) / 1024, time.time()))


def run_configuration(engine_name: str, processes: int, pages_per_process: int, dpi: int) -> None:
    context = multiprocessing.get_context("spawn")  # torch does not survive fork well
    start = context.Barrier(processes + 1)
    results = context.Queue()
    # On a small machine, one torch thread per process when several share the cores.
    options: dict[str, Any] = {"threads": 1} if engine_name == "easyocr" and processes > 1 else {}
    workers = [
        context.Process(
            target=_worker,
            args=(
                engine_name,
                options,
                list(range(n * pages_per_process, (n + 1) * pages_per_process)),
                dpi,
                start,
                results,
            ),
        )
        for n in range(processes)
    ]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.time()
    collected = [results.get() for _ in workers]
    for worker in workers:
        worker.join()
    wall = max(result.finished_at for result in collected) - began
    seconds = [s for result in collected for s in result.page_seconds]
    rates = [r for result in collected for r in result.error_rates]
    pages = len(seconds)
    print(
        f"{engine_name:<10} {processes:>4} {pages:>6} {sum(seconds) / pages:>10.1f}"
        f" {max(r.peak_rss_mib for r in collected):>10.0f} {sum(rates) / pages:>7.3f}"
        f" {pages / wall * 60:>9.2f} {max(r.load_s for r in collected):>7.1f}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", nargs="+", default=["easyocr", "tesseract"])
    parser.add_argument("--processes", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--pages", type=int, default=2, help="pages per process")
    parser.add_argument("--dpi", type=int, default=300)
    args = parser.parse_args(argv)
    print(f"A4 pages at {args.dpi} dpi, {args.pages} page(s) per process", flush=True)
    print(
        f"{'engine':<10} {'proc':>4} {'pages':>6} {'s/page':>10} {'peak MiB':>10}"
        f" {'CER':>7} {'pages/min':>9} {'load s':>7}",
        flush=True,
    )
    for engine_name in args.engines:
        for processes in args.processes:
            run_configuration(engine_name, processes, args.pages, args.dpi)


if __name__ == "__main__":
    main(sys.argv[1:])
