"""Benchmark the OCR engines on generated A4 pages with known text, every variant in one run.

Run: ``.venv/bin/python scripts/bench/ocr_engines.py [--pages 2] [--variants torch openvino
onnx onnx-int8 tesseract ...] [--processes 1 2] [--reference-processes 1] [--degraded-lines 8]
[--dpi 300]``

Variants: ``torch`` is EasyOCR's own ``Reader`` (the reference, the path before ONNX);
``openvino`` the default EasyOCR path (the same weights exported to ONNX, compiled by
OpenVINO in the CPU's best precision: bf16 where it has AMX or AVX512-BF16, else f32;
detection at the scale the text needs), ``openvino-rf32`` the same with the recogniser in
f32, ``openvino-f32`` both in f32 (what a CPU without bf16 runs); ``onnx`` the same files on
ONNX Runtime (float32, the default without OpenVINO), ``onnx-int8`` that quantised;
``tesseract`` the binary.

Pages are A4 at 300 dpi with a few paragraphs of 10 pt text drawn by Pillow, generated in each
worker from a seed (nothing is downloaded, nothing is passed between processes but numbers).
For every variant and process count it prints: seconds per page, the peak memory (RSS) of an
OCR process (including Tesseract's own subprocess), the character error rate of the text as a
page job stores it (the engine's words put in reading order by ``core/reading_order``, as for
every engine) against the drawn text, pages per minute with that many OCR processes running
side by side, the speed-up over ``torch``, and the machine's load average (1 minute) when the
row was done.
Each process loads its engine once (the load time is printed apart), is given cores/N
threads, and then OCRs ``--pages`` pages; all processes start OCR together.
With one process, each variant then also reads the degraded pages of
``scripts/bench/degraded_pages.py`` (``--degraded-lines`` lines each, 0 to skip); a second table
gives their error rates and each variant's difference to ``torch`` in points.
The machine may be shared: compare the variants of one run, not runs.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parent))
import degraded_pages

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


VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "torch": ("easyocr", {"runtime": "torch"}),
    "openvino": ("easyocr", {"runtime": "openvino"}),
    "openvino-rf32": ("easyocr", {"runtime": "openvino", "recognizer_precision": "f32"}),
    "openvino-f32": ("easyocr", {"runtime": "openvino", "precision": "f32"}),
    "onnx": ("easyocr", {"runtime": "onnx"}),
    "onnx-int8": ("easyocr", {"runtime": "onnx", "int8": True}),
    "tesseract": ("tesseract", {}),
}


@dataclass
class WorkerResult:
    load_s: float
    page_seconds: list[float]
    cpu_seconds: list[float]  # CPU time (all threads, and Tesseract's subprocess) per page
    error_rates: list[float]
    peak_rss_mib: float
    finished_at: float
    degraded: dict[str, float]  # kind -> character error rate


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _worker(
    variant: str,
    threads: int,
    cache_dir: str,
    page_indexes: list[int],
    dpi: int,
    degraded_lines: int,
    start: Any,
    results: Any,
) -> None:
    from archivist.jobs.ocr_engines import get_engine

    engine_name, options = VARIANTS[variant]
    if engine_name == "easyocr":
        options = {**options, "threads": threads, "cache_dir": cache_dir}
    began = time.perf_counter()
    engine = get_engine(engine_name, **options)
    # Load the model now (EasyOCR) or find the binary (Tesseract): not part of the page times.
    engine.recognize(Image.new("RGB", (200, 60), "white"), ["en"])
    load = getattr(engine, "load", None)
    if load is not None:
        load(["en"])
    load_s = time.perf_counter() - began
    pages = [draw_page(index, dpi) for index in page_indexes]
    start.wait()
    seconds, cpu, rates = [], [], []
    for image, text in pages:
        t0, c0 = time.perf_counter(), _cpu_seconds()
        got = stored_text(engine.recognize(image, ["en"]))
        seconds.append(time.perf_counter() - t0)
        cpu.append(_cpu_seconds() - c0)
        rates.append(character_error_rate(text, got))
    finished = time.time()
    degraded: dict[str, float] = {}
    for kind in degraded_pages.KINDS if degraded_lines else ():
        image, text = degraded_pages.degraded_page(kind, dpi, lines=degraded_lines)
        got = stored_text(engine.recognize(image, ["en"]))
        if kind in degraded_pages.ORDER_FREE_KINDS:
            text, got = degraded_pages.order_free(text), degraded_pages.order_free(got)
        degraded[kind] = character_error_rate(text, got)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    peak = max(own, children) / 1024
    results.put(WorkerResult(load_s, seconds, cpu, rates, peak, finished, degraded))


def stored_text(words: list[Any]) -> str:
    """The page text as a page job stores it: the engine's words in reading order (timed
    with the engine, as in a page job)."""
    from archivist.core.reading_order import reading_order

    return " ".join(word.text for word in reading_order(words))


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_configuration(
    variant: str,
    processes: int,
    pages_per_process: int,
    dpi: int,
    cache_dir: str,
    degraded_lines: int,
    reference: dict[str, float],
) -> dict[str, float]:
    context = multiprocessing.get_context("spawn")  # torch does not survive fork well
    start = context.Barrier(processes + 1)
    results = context.Queue()
    threads = max(1, _cores() // processes)  # N workers get cores/N threads, as `archivist run`
    workers = [
        context.Process(
            target=_worker,
            args=(
                variant,
                threads,
                cache_dir,
                list(range(n * pages_per_process, (n + 1) * pages_per_process)),
                dpi,
                degraded_lines if processes == 1 else 0,
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
    cpu = [c for result in collected for c in result.cpu_seconds]
    pages = len(seconds)
    per_page = sum(seconds) / pages
    speedup = reference.get("s/page", 0.0) / per_page if per_page else 0.0
    print(
        f"{variant:<13} {processes:>4} {pages:>6} {per_page:>8.1f} {sum(cpu) / pages:>8.1f}"
        f" {max(r.peak_rss_mib for r in collected):>9.0f} {sum(rates) / pages:>7.3f}"
        f" {pages / wall * 60:>9.2f} {max(r.load_s for r in collected):>7.1f}"
        f" {f'{speedup:.1f}x' if speedup else '-':>8} {os.getloadavg()[0]:>5.1f}",
        flush=True,
    )
    return {"s/page": per_page, **collected[0].degraded}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--processes", nargs="+", type=int, default=[1, 2])
    parser.add_argument(
        "--reference-processes",
        nargs="+",
        type=int,
        default=[1],
        help="process counts for the slow torch reference (default 1)",
    )
    parser.add_argument("--pages", type=int, default=2, help="pages per process")
    parser.add_argument("--degraded-lines", type=int, default=8, help="0: no degraded pages")
    parser.add_argument("--dpi", type=int, default=300)
    parser.add_argument("--cache-dir", help="where the ONNX exports go (default: a temp folder)")
    args = parser.parse_args(argv)
    cache_dir = args.cache_dir or os.path.join(tempfile.gettempdir(), "archivist-bench-models")
    print(
        f"A4 pages at {args.dpi} dpi, {args.pages} page(s) per process, {_cores()} cores,"
        f" load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    _export_first(args.variants, cache_dir)
    print(
        f"{'variant':<13} {'proc':>4} {'pages':>6} {'s/page':>8} {'cpu s/p':>8} {'peak MiB':>9}"
        f" {'CER':>7} {'pages/min':>9} {'load s':>7} {'vs torch':>8} {'load':>5}",
        flush=True,
    )
    reference: dict[str, float] = {}
    degraded: dict[str, dict[str, float]] = {}
    for variant in args.variants:
        counts = args.reference_processes if variant == "torch" else args.processes
        for processes in counts:
            figures = run_configuration(
                variant, processes, args.pages, args.dpi, cache_dir, args.degraded_lines,
                reference,
            )  # fmt: skip
            if processes == 1:
                degraded[variant] = figures
                if variant == "torch":
                    reference = figures
    if args.degraded_lines and degraded:
        _print_degraded(degraded)


def _export_first(variants: list[str], cache_dir: str) -> None:
    """Export the ONNX models before timing anything (a worker does this once, ever), and say
    where each EasyOCR variant runs (its worker's start-up line, with one worker's threads)."""
    from archivist.jobs.ocr_engines import EasyOcrEngine

    for variant in variants:
        engine_name, options = VARIANTS[variant]
        if engine_name == "easyocr" and options.get("runtime") != "torch":
            began = time.perf_counter()
            engine = EasyOcrEngine(cache_dir=cache_dir, threads=_cores(), **options)
            engine.load(["en"])
            print(
                f"{variant}: models ready in {time.perf_counter() - began:.1f} s;"
                f" {engine.describe()}",
                flush=True,
            )


def _print_degraded(degraded: dict[str, dict[str, float]]) -> None:
    variants = list(degraded)
    print("\nCER on degraded pages (in brackets: points vs torch; * words compared unordered)")
    print(f"{'page':<14}" + "".join(f" {variant:>16}" for variant in variants), flush=True)
    reference = degraded.get("torch", {})
    for kind in degraded_pages.KINDS:
        cells = []
        for variant in variants:
            rate = degraded[variant].get(kind, float("nan"))
            if kind in reference and variant != "torch":
                cells.append(f"{rate:.3f} ({(rate - reference[kind]) * 100:+.1f})")
            else:
                cells.append(f"{rate:.3f}")
        star = "*" if kind in degraded_pages.ORDER_FREE_KINDS else ""
        print(f"{kind + star:<14}" + "".join(f" {cell:>16}" for cell in cells), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
