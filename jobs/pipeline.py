"""Page and document jobs: render, read or OCR each page; then finish the document.

Jobs take ids, record their outcome in the database and are safe to run twice: a page is
claimed with a lease (renewed while the job works), its result stored with a conditional
update, and files are content-addressed. A page that cannot be processed for a reason a
person can act on fails at once with that reason; anything else is retried with back-off and,
once retries are spent, the page fails with a generic reason while the rest of the document
goes on.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from redis import Redis
from redis.exceptions import RedisError
from rq import get_current_job

from archivist.core import metrics, node_events, progress
from archivist.core.db import database, utcnow, with_connection
from archivist.core.document_errors import DocumentError
from archivist.core.images import carry_previews, make_previews
from archivist.core.index_state import mark_for_index
from archivist.core.models import Document, DocumentVersion, Node, Page
from archivist.core.ocr_languages import can_read, engine_name
from archivist.core.page_reader import PageReader, ReadRequest
from archivist.core.pages import decode_words
from archivist.core.pdf import turn_pages
from archivist.core.processing import (
    PageWork,
    claim_page,
    complete_page,
    copy_pages,
    document_progress,
    fail_page,
    release_page,
    renew_lease,
    set_document_status,
    take_finalize_turn,
    version_counts,
)
from archivist.core.queue import enqueue_finalize, redis_connection
from archivist.core.reading_order import reading_order
from archivist.core.scheduling import queue_next_pages
from archivist.core.search import index_documents, search_index
from archivist.core.settings import Settings, get_settings
from archivist.core.storage import Storage
from archivist.core.text_layer import is_usable, write_searchable_pdf
from archivist.core.words import Word, image_words_to_page
from archivist.jobs.ocr_engines import OcrEngine, OcrError, get_engine
from archivist.jobs.orientation import turn_image, upright_turn, words_back

logger = logging.getLogger("archivist.jobs")

_engines: dict[tuple[str, str | None, str], OcrEngine] = {}


def ocr_engine(settings: Settings, name: str) -> OcrEngine:
    """The worker's engine: built once per process (the EasyOCR model stays loaded)."""
    model_dir = str(settings.easyocr_model_dir) if settings.easyocr_model_dir else None
    key = (name, model_dir, settings.easyocr_runtime)
    if key not in _engines:
        _engines[key] = (
            get_engine(
                name,
                model_dir=model_dir,
                threads=settings.ocr_threads,
                runtime=settings.easyocr_runtime,
                cache_dir=str(settings.model_cache_dir),
            )
            if name == "easyocr"
            else get_engine(name)
        )
    return _engines[key]


_readers: dict[tuple[int, int], PageReader] = {}


def page_reader(settings: Settings) -> PageReader:
    """The worker's render child (see :mod:`archivist.core.page_reader`), one per process."""
    key = (settings.render_memory_mib, settings.render_timeout)
    if key not in _readers:
        _readers[key] = PageReader(
            memory_mib=settings.render_memory_mib, timeout=settings.render_timeout
        )
    return _readers[key]


def worker_name() -> str:
    job = get_current_job()
    if job is not None and job.worker_name:
        return str(job.worker_name)
    return f"{socket.gethostname()}:{os.getpid()}"


def _redis(settings: Settings) -> Redis | None:
    return redis_connection(settings) if settings.redis_url else None


@contextmanager
def _lease(page_id: int, worker: str, seconds: float) -> Iterator[None]:
    """Renew the page's lease in the background while the block runs."""
    stop = threading.Event()

    @with_connection
    def renew() -> None:
        while not stop.wait(seconds / 3):
            if not renew_lease(page_id, worker, seconds):
                return

    thread = threading.Thread(target=renew, name=f"lease-page-{page_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


class PageReading(NamedTuple):
    """What a page job read: words in page points (the page as the version's file shows it),
    where they came from (text_layer, ocr, none), the OCR engine's name, and the degrees the
    page must turn clockwise to be upright (found for OCR'd pages only)."""

    words: list[Word]
    source: str
    engine: str | None
    turn: int = 0


def read_page(settings: Settings, work: PageWork) -> PageReading:
    """Render the page, write its previews, then take its text layer or OCR it.

    Rendering and the text layer are read in the worker's render child, under its memory and
    time limits (a page over them raises DocumentError ``PAGE_TOO_COMPLEX``).
    """
    storage = Storage(settings.storage_dir)
    pdf_path = storage.path(work.file_hash)
    index = work.page_number - 1
    content = page_reader(settings).read(ReadRequest(str(pdf_path), index, settings.ocr_dpi))
    rendered, layer = content.rendered, content.text_layer
    for size, data in make_previews(rendered.image).items():
        storage.write_preview(work.file_hash, work.page_number, size, data)
    if work.ocr_mode == "off":
        return PageReading(layer.words, "text_layer" if layer.words else "none", None)
    if work.ocr_mode == "auto" and is_usable(layer):
        return PageReading(layer.words, "text_layer", None)
    _check_engine(settings, work)
    engine = ocr_engine(settings, work.ocr_engine)
    started = time.monotonic()
    # A page scanned sideways or upside down is read upright, its boxes turned back onto the
    # page as shown; the final step then stores the page turned (see finalize_version).
    degrees = upright_turn(rendered.image)
    upright = turn_image(rendered.image, degrees)
    # Each engine has its own order; a text layer keeps the PDF's. Lines run across the
    # upright page, so the order is found there.
    words = reading_order(engine.recognize(upright, list(work.ocr_languages)))
    words = words_back(words, upright, degrees)
    metrics.ocr_observed(_redis(settings), engine.name, time.monotonic() - started)
    return PageReading(image_words_to_page(words, rendered.scale), "ocr", engine.name, degrees)


def _check_engine(settings: Settings, work: PageWork) -> None:
    """Refuse a page whose document asks for an OCR engine (or languages) this worker does
    not have, before loading any model. The engine is the document's choice, never the
    worker's: a page is read alike whichever worker takes it.

    Raises :class:`OcrError` saying which engine, which worker and what to do.
    """
    if can_read(settings, work.ocr_engine, tuple(work.ocr_languages)):
        return
    raise OcrError(
        f"This document is read with {engine_name(work.ocr_engine)} "
        f"({'+'.join(work.ocr_languages)}), which worker {worker_name()} does not have "
        "installed. Retry the page (another worker may have it) or reprocess the document "
        "with another engine; or install it on every worker."
    )


@with_connection
def process_page(page_id: int) -> str:
    """The job for one page; returns what happened (done, failed, skipped).

    When the page is finished (done or failed) its owner's next waiting page gets its turn
    (see :mod:`archivist.core.scheduling`); a page to be retried keeps its turn.
    """
    settings = get_settings()
    outcome = _process_page(settings, page_id)
    _next_turn(settings, page_id)
    return outcome


def _next_turn(settings: Settings, page_id: int) -> None:
    redis = _redis(settings)
    page = Page.get_or_none(Page.id == page_id)
    if redis is None or page is None:
        return
    version = DocumentVersion.get_or_none(DocumentVersion.id == page.version_id)
    if version is None:
        return
    try:
        queue_next_pages(redis, settings, version.document_id)
    except RedisError as error:  # the reconciler gives the turn later
        logger.warning("could not queue the next pages after page %s: %s", page_id, error)


def _process_page(settings: Settings, page_id: int) -> str:
    worker = worker_name()
    work = claim_page(page_id, worker, settings.page_lease_seconds)
    if work is None:
        return "skipped"  # done already, or another live job holds it
    redis = _redis(settings)
    _publish_page(redis, work, progress.STARTED, worker)
    with _lease(page_id, worker, settings.page_lease_seconds):
        try:
            reading = read_page(settings, work)
        except (DocumentError, OcrError) as error:
            # Retrying cannot help: the page is unreadable, or OCR cannot run as asked (a
            # language or model that is not installed). The reason is kept for the person, who
            # can retry the page with other settings; the rest of the document goes on.
            reason = error.message if isinstance(error, DocumentError) else str(error)
            if fail_page(page_id, reason):
                metrics.page_failed(redis, _engine_asked(work.ocr_mode, work.ocr_engine))
            _publish_page(redis, work, progress.PAGE_FAILED, worker, reason)
            finish_if_last(settings, redis, work.version_id)
            return "failed"
        except Exception:
            # Maybe transient (a storage hiccup, a lost connection): RQ retries the job with
            # back-off, and the retry must be able to claim the page again.
            release_page(page_id, worker)
            raise
    language = ",".join(work.ocr_languages) if reading.source == "ocr" else None
    if complete_page(
        page_id, reading.words, source=reading.source, engine=reading.engine, language=language,
        turn=reading.turn,
    ):  # fmt: skip
        ocr_engine = reading.engine if reading.source == "ocr" else None
        metrics.page_processed(redis, ocr_engine or reading.source)
        _publish_page(redis, work, progress.PAGE_DONE, worker)
    finish_if_last(settings, redis, work.version_id)
    return "done"


def _engine_asked(ocr_mode: str, ocr_engine: str) -> str:
    """The engine label of a failed page: the document's engine, ``none`` when OCR is off."""
    return metrics.NO_TEXT if ocr_mode == "off" else ocr_engine


def _publish_page(
    redis: Redis | None, work: PageWork, status: str, worker: str, message: str | None = None
) -> None:
    done, failed, total = version_counts(work.version_id)
    progress.publish(
        redis,
        progress.ProgressEvent(
            document_id=work.document_id,
            status=status,
            pages_done=done + failed,
            pages_total=total,
            page_number=work.page_number,
            message=message,
            worker=worker,
        ),
    )


def finish_if_last(settings: Settings, redis: Redis | None, version_id: int) -> None:
    """After the last page, enqueue the final step (exactly once)."""
    if redis is not None and take_finalize_turn(version_id):
        enqueue_finalize(redis, version_id)


@with_connection
def page_job_failed(job: Any, connection: Redis, exc_type: Any, exc: Any, tb: Any) -> None:
    """RQ failure callback: once retries are spent, the page fails and the document goes on."""
    if job.retries_left:
        return  # RQ will try again
    page_id = int(job.args[0])
    page = Page.get_or_none(Page.id == page_id)
    if page is None:
        return
    logger.error("page %s failed for good: %s", page_id, exc)
    if fail_page(page_id, "This page could not be processed (internal error); try again later."):
        version = DocumentVersion.get_by_id(page.version_id)
        document = Document.get(Document.node == version.document_id)
        metrics.page_failed(connection, _engine_asked(document.ocr_mode, document.ocr_engine))
        done, failed, total = version_counts(version.id)
        progress.publish(
            connection,
            progress.ProgressEvent(
                version.document_id, progress.PAGE_FAILED, done + failed, total, page.number,
                "This page could not be processed.",
            ),
        )  # fmt: skip
        finish_if_last(get_settings(), connection, version.id)
    _next_turn(get_settings(), page_id)


@with_connection
def finalize_version(version_id: int) -> str:
    """Write the searchable PDF as a new version, index its pages, then mark it ready.

    READY (the status and the event) means the pages are searchable: the index is written
    here, before the status changes. When that write fails (the index stays locked), the job
    fails and is retried (or the reconciler enqueues it again), the document still PROCESSING.
    Idempotent: a version that already has a successor with a text layer is left alone.
    """
    settings = get_settings()
    redis = _redis(settings)
    version = DocumentVersion.get_by_id(version_id)
    document_id = version.document_id
    pages = list(Page.select().where(Page.version == version_id).order_by(Page.number))
    done = [page for page in pages if page.status == Page.DONE]
    newest = (
        DocumentVersion.select()
        .where(DocumentVersion.document == document_id)
        .order_by(DocumentVersion.number.desc())
        .first()
    )
    if not done:
        message = "No page of this document could be read."
        with database.atomic():
            set_document_status(document_id, Document.FAILED, message)
            mark_for_index([document_id])  # an older version's entries leave the index
        progress.publish(redis, document_progress(document_id, progress.FAILED))
        node_events.publish_updated(redis, [document_id])
        return "failed"
    if newest.id == version_id and not version.has_text_layer:
        _write_text_layer_version(settings, version, pages)
    failed = len(pages) - len(done)
    note = f"{failed} of {len(pages)} pages could not be read." if failed else None
    with database.atomic():
        # The change of status counts as the document's change now, so that the index holds
        # the modification date the database will have (``archivist index check`` agrees).
        Node.update(updated_at=utcnow()).where(Node.id == document_id).execute()
        mark_for_index([document_id])  # owed until written (the reconciler's safety net)
    index_documents(search_index(settings), [document_id])
    Document.update(status=Document.READY, error=note).where(Document.node == document_id).execute()
    progress.publish(redis, document_progress(document_id, progress.READY))
    node_events.publish_updated(redis, [document_id])
    return "ready"


def _write_text_layer_version(
    settings: Settings, version: DocumentVersion, pages: list[Page]
) -> None:
    """The next version: the file with our text layer, and every page found turned (see
    ``Page.turn``) stored upright: its /Rotate set as a page edit's rotation sets it, its
    words, size and previews turned with it. Its layer-free base is turned alike, so that
    processing again starts from upright pages (and finds nothing more to turn)."""
    storage = Storage(settings.storage_dir)
    words = [decode_words(page.words) if page.source == "ocr" else [] for page in pages]
    turns = {page.number: page.turn for page in pages if page.status == Page.DONE and page.turn}
    with storage.scratch() as scratch:
        target = scratch / "searchable.pdf"
        write_searchable_pdf(storage.path(version.file_hash), words, target)
        base_hash = version.base_hash
        if turns:
            turn_pages(target, scratch / "upright.pdf", turns)
            target = scratch / "upright.pdf"
            turn_pages(storage.path(version.base_hash), scratch / "base.pdf", turns)
            base_hash = storage.put(scratch / "base.pdf")
        file_hash = storage.put(target)
    note = "Text layer added"
    if turns:
        note += f"; page(s) {', '.join(map(str, sorted(turns)))} turned upright"
    with database.atomic():
        successor = DocumentVersion.create(
            document=version.document_id, number=version.number + 1, file_hash=file_hash,
            base_hash=base_hash, page_count=version.page_count, has_text_layer=True,
            finalize_enqueued=True, note=note,
        )  # fmt: skip
        copy_pages(pages, successor.id, turns=turns)
    # Previews are addressed by file hash: the new file shows the same pages, some turned.
    for page in pages:
        source, target_page = (version.file_hash, page.number), (file_hash, page.number)
        carry_previews(storage, source, target_page, turns.get(page.number, 0))
