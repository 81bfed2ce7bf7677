#!/usr/bin/env python3
"""Benchmark the whole OCR pipeline with real RQ workers: pages per minute with 1 and 2.

Run: ``.venv/bin/python scripts/bench/ocr.py [--pages 4] [--workers 1 2]
[--engines easyocr tesseract easyocr:onnx] [--dpi 150] [--threads N]`` (``easyocr:RUNTIME``
sets the workers' ``ARCHIVIST_EASYOCR_RUNTIME``; plain ``easyocr`` runs the default, ``auto``;
``--threads`` fixes each worker's OCR threads, which otherwise are cores/N for N workers, so
one worker alone already uses every core)

For each engine (Tesseract only where its binary is installed) and worker count it makes a
fresh data folder and SQLite database, starts that many ``archivist worker`` processes,
uploads a warm-up document (one page per worker, repeated until every worker has done a
page, so each has loaded its engine), then uploads the measured document of ``--pages``
scanned half-letter pages (text drawn by Pillow at ``--dpi``, embedded at that resolution,
and rendered by the pipeline at the same ``ARCHIVIST_OCR_DPI``) with ``ocr_mode="force"``.
It prints: the seconds from the first page leaving "pending" to the document being ready,
pages per minute, each worker's peak RSS (worker plus its children, e.g. Tesseract, sampled
every 0.2 s over the whole run, warm-up included), and the character error rate of the
newest version's page text against the drawn text. Redis: ``ARCHIVIST_BENCH_REDIS_URL``
(default redis://127.0.0.1:6379/14, which is flushed before each configuration).
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the sibling modules: scripts are not a package

from project_venv import reexec_in_venv  # noqa: E402

if __name__ == "__main__":
    reexec_in_venv()

import psutil  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from archivist.core.db import configure_database, database  # noqa: E402
from archivist.core.documents import UploadOptions, upload_document  # noqa: E402
from archivist.core.migrations import migrate  # noqa: E402
from archivist.core.models import Document, DocumentVersion, Page  # noqa: E402
from archivist.core.queue import redis_connection  # noqa: E402
from archivist.core.settings import Settings, load_settings, use_settings  # noqa: E402
from archivist.core.users import Viewer, create_user, viewer_for  # noqa: E402

HALF_LETTER_INCHES = (5.5, 8.5)
SECRET_KEY = "bench-secret-key-0123456789"


def load_engine_bench() -> ModuleType:
    """``scripts/bench/ocr_engines.py`` (its page text and error rate), loaded by path."""
    spec = importlib.util.spec_from_file_location("ocr_engines", HERE / "ocr_engines.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while defined
    spec.loader.exec_module(module)
    return module


engine_bench = load_engine_bench()


def draw_page(index: int, dpi: int) -> tuple[Image.Image, str]:
    """A half-letter scan at ``dpi``: the first three paragraphs of the engine bench's page
    ``index`` in 10 pt type, and the text drawn."""
    size = (round(HALF_LETTER_INCHES[0] * dpi), round(HALF_LETTER_INCHES[1] * dpi))
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=round(10 * dpi / 72))
    margin, line_height = round(0.6 * dpi), round(14 * dpi / 72)
    drawn: list[str] = []
    y = margin
    for paragraph in engine_bench.page_text(index).split("\n\n")[:3]:
        # About 60 characters of 10 pt type fit between 0.6 inch margins.
        for line in textwrap.wrap(paragraph, width=60):
            draw.text((margin, y), line, fill=0, font=font)
            drawn.append(line)
            y += line_height
        y += line_height
    return image, " ".join(drawn)


def scanned_pdf(first_index: int, pages: int, dpi: int) -> tuple[bytes, list[str]]:
    """A PDF of ``pages`` scans (images only, no text layer) and each page's text."""
    drawn = [draw_page(index, dpi) for index in range(first_index, first_index + pages)]
    images = [image.convert("RGB") for image, _ in drawn]
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", save_all=True, append_images=images[1:], resolution=dpi)
    return buffer.getvalue(), [text for _, text in drawn]


def worker_env(
    settings: Settings, engine: str, dpi: int, workers: int, threads: int | None = None
) -> dict[str, str]:
    """Each worker's environment: N workers get cores/N OCR threads (as ``archivist run``
    gives them), and EasyOCR's ONNX export is shared by every configuration. ``engine`` may
    name an EasyOCR runtime after a colon (``easyocr:onnx``); without one, the default."""
    engine, _, runtime = engine.partition(":")
    env = {key: value for key, value in os.environ.items() if not key.startswith("ARCHIVIST_")}
    if runtime:
        env["ARCHIVIST_EASYOCR_RUNTIME"] = runtime
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    env.update(
        ARCHIVIST_OCR_THREADS=str(threads or max(1, (cores or 1) // workers)),
        ARCHIVIST_MODEL_CACHE=str(Path(tempfile.gettempdir()) / "archivist-bench-models"),
        ARCHIVIST_DATA_DIR=str(settings.data_dir),
        ARCHIVIST_DATABASE_URL=settings.database_url,
        ARCHIVIST_REDIS_URL=settings.redis_url or "",
        ARCHIVIST_OCR_ENGINE=engine,
        ARCHIVIST_OCR_DPI=str(dpi),
        ARCHIVIST_SECRET_KEY=SECRET_KEY,
    )
    return env


class MemorySampler:
    """Samples each worker's RSS (with its children) every 0.2 s; keeps the peaks."""

    def __init__(self, pids: list[int]) -> None:
        self.processes = [psutil.Process(pid) for pid in pids]
        self.peaks = [0] * len(pids)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            for n, process in enumerate(self.processes):
                try:
                    family = [process, *process.children(recursive=True)]
                    rss = sum(member.memory_info().rss for member in family)
                except psutil.Error:
                    continue
                self.peaks[n] = max(self.peaks[n], rss)
            self.stop.wait(0.2)

    def __enter__(self) -> MemorySampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


@contextmanager
def running_workers(env: dict[str, str], count: int, logs: Path) -> Iterator[list[int]]:
    """Start ``count`` workers; always SIGTERM them (then kill stragglers) on the way out."""
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for n in range(count):
            with (logs / f"worker-{n}.log").open("wb") as log:
                command = [sys.executable, "-m", "archivist.core.cli", "worker"]
                command += ["--name", f"bench-{n}"]
                processes.append(
                    subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
                )
        yield [process.pid for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def upload(settings: Settings, viewer: Viewer, data: bytes, name: str) -> int:
    with redis_connection(settings) as redis:
        node = upload_document(
            settings, viewer, io.BytesIO(data), UploadOptions(filename=name, ocr_mode="force"),
            redis,
        )  # fmt: skip
    return int(node.id)


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_ready(document_id: int, timeout: float, workers: list[int]) -> tuple[float, float]:
    """Poll until the document is ready; return (first page started, ready), perf_counter.

    Raises RuntimeError when it fails, a worker dies, or ``timeout`` passes."""
    with database.connection_context():
        first_version = (
            DocumentVersion.select()
            .where(DocumentVersion.document == document_id)
            .order_by(DocumentVersion.number)
            .first()
        )
    started: float | None = None
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        now = time.perf_counter()
        with database.connection_context():
            if started is None:
                pending = Page.select().where(
                    (Page.version == first_version.id) & (Page.status != Page.PENDING)
                )
                if pending.exists():
                    started = now
            status = Document.get(Document.node == document_id).status
        if status == Document.READY:
            return started if started is not None else now, now
        if status == Document.FAILED:
            raise RuntimeError(f"document {document_id} failed")
        if not all(alive(pid) for pid in workers):
            raise RuntimeError("a worker died; see its log")
        time.sleep(0.05)
    raise RuntimeError(f"document {document_id} not ready after {timeout:.0f} s")


def newest_pages(document_id: int) -> list[Page]:
    newest = (
        DocumentVersion.select()
        .where(DocumentVersion.document == document_id)
        .order_by(DocumentVersion.number.desc())
        .first()
    )
    return list(Page.select().where(Page.version == newest.id).order_by(Page.number))


@dataclass
class Result:
    engine: str
    workers: int
    pages: int
    seconds: float
    peak_rss_mib: list[float]
    cer: float

    def row(self) -> str:
        rss = " / ".join(f"{value:.0f}" for value in self.peak_rss_mib)
        return (
            f"{self.engine:<16} {self.workers:>7} {self.pages:>5} {self.seconds:>8.1f}"
            f" {self.pages * 60 / self.seconds:>9.2f}  {rss:<18} {self.cer:>6.3f}"
        )


HEADER = (
    f"{'engine':<16} {'workers':>7} {'pages':>5} {'seconds':>8} {'pages/min':>9}"
    f"  {'peak RSS MiB/worker':<18} {'CER':>6}"
)


def bench(
    engine: str, workers: int, pages: int, dpi: int, redis_url: str, threads: int | None = None
) -> Result:
    folder = Path(tempfile.mkdtemp(prefix=f"bench-ocr-{engine}-"))
    try:
        data_dir = folder / "data"
        data_dir.mkdir()
        settings = load_settings(
            {
                "ARCHIVIST_DATA_DIR": str(data_dir),
                "ARCHIVIST_DATABASE_URL": f"sqlite:///{data_dir / 'archivist.sqlite3'}",
                "ARCHIVIST_REDIS_URL": redis_url,
                "ARCHIVIST_OCR_ENGINE": engine.partition(":")[0],
                "ARCHIVIST_OCR_DPI": str(dpi),
                "ARCHIVIST_SECRET_KEY": SECRET_KEY,
            }
        )
        use_settings(settings)
        with redis_connection(settings) as redis:
            redis.flushdb()
        db = configure_database(settings.database_url)
        with db.connection_context():
            migrate(db)
            viewer = viewer_for(create_user("bench", "bench password 0123"))
        with (
            running_workers(
                worker_env(settings, engine, dpi, workers, threads), workers, folder
            ) as worker_pids,
            MemorySampler(worker_pids) as sampler,
        ):
            warm_index = 1000
            for attempt in range(1, 6):  # until every worker has done a page
                data, _ = scanned_pdf(warm_index, workers, dpi)
                with db.connection_context():
                    warm_id = upload(settings, viewer, data, f"warm-up-{attempt}.pdf")
                began = time.perf_counter()
                wait_ready(warm_id, 600, worker_pids)
                with db.connection_context():
                    served = {page.worker for page in newest_pages(warm_id)}
                print(
                    f"  warm-up {attempt}: {workers} page(s) in"
                    f" {time.perf_counter() - began:.1f} s by {', '.join(sorted(served))}",
                    flush=True,
                )
                if len(served) >= workers:
                    break
            data, texts = scanned_pdf(0, pages, dpi)
            with db.connection_context():
                document_id = upload(settings, viewer, data, "measured.pdf")
            started, ready = wait_ready(document_id, 900, worker_pids)
        with db.connection_context():
            got = [page.text for page in newest_pages(document_id)]
        expected = " ".join(texts)
        cer = engine_bench.character_error_rate(expected, " ".join(got))
        peaks = [peak / 2**20 for peak in sampler.peaks]
        return Result(engine, workers, pages, ready - started, peaks, cer)
    finally:
        if not database.is_closed():
            database.close()
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--pages", type=int, default=4, help="pages of the measured document")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--engines",
        nargs="+",
        default=["easyocr", "tesseract"],
        help="engines, EasyOCR with a runtime if wanted: easyocr:openvino easyocr:onnx",
    )
    parser.add_argument("--dpi", type=int, default=150, help="scan and ARCHIVIST_OCR_DPI")
    parser.add_argument(
        "--threads",
        type=int,
        help="OCR threads per worker (default: cores/N for N workers, as `archivist run`)",
    )
    args = parser.parse_args(argv)
    redis_url = os.environ.get("ARCHIVIST_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    engines = [e for e in args.engines if e != "tesseract" or shutil.which("tesseract")]
    print(f"load average {os.getloadavg()[0]:.1f}", flush=True)
    width, height = HALF_LETTER_INCHES
    print(
        f"pages: half-letter {width} x {height} in, 10 pt text, {args.dpi} dpi"
        f" ({round(width * args.dpi)} x {round(height * args.dpi)} px); engines: {engines};"
        f" threads per worker: {args.threads or 'cores/N'}",
        flush=True,
    )
    results = []
    began = time.monotonic()
    for engine in engines:
        for workers in args.workers:
            print(f"{engine}, {workers} worker(s), {args.pages} pages…", flush=True)
            result = bench(engine, workers, args.pages, args.dpi, redis_url, args.threads)
            print(HEADER + "\n" + result.row(), f"(load {os.getloadavg()[0]:.1f})", flush=True)
            results.append(result)
    print("\n" + HEADER + "\n" + "\n".join(result.row() for result in results))
    print(f"total {time.monotonic() - began:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
