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
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from redis import Redis
from rq import get_current_job

from archivist.core import progress
from archivist.core.db import database, with_connection
from archivist.core.document_errors import DocumentError
from archivist.core.images import PREVIEW_SIZES, make_previews
from archivist.core.models import Document, DocumentVersion, Page
from archivist.core.pages import decode_words
from archivist.core.pdf import render_page
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
from archivist.core.queue import enqueue_finalize, enqueue_index, redis_connection
from archivist.core.settings import Settings, get_settings
from archivist.core.storage import Storage
from archivist.core.text_layer import extract_text_layer, has_usable_text, write_searchable_pdf
from archivist.core.words import Word, image_words_to_page
from archivist.jobs.ocr_engines import OcrEngine, OcrError, get_engine

logger = logging.getLogger("archivist.jobs")

_engines: dict[tuple[str, str | None], OcrEngine] = {}


def ocr_engine(settings: Settings, name: str) -> OcrEngine:
    """The worker's engine: built once per process (the EasyOCR model stays loaded)."""
    model_dir = str(settings.easyocr_model_dir) if settings.easyocr_model_dir else None
    key = (name, model_dir)
    if key not in _engines:
        _engines[key] = (
            get_engine(name, model_dir=model_dir) if name == "easyocr" else get_engine(name)
        )
    return _engines[key]


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


def read_page(settings: Settings, work: PageWork) -> tuple[list[Word], str, str | None]:
    """Render the page, write its previews, then take its text layer or OCR it.

    Returns (words in page points, source, engine name).
    """
    storage = Storage(settings.storage_dir)
    pdf_path = storage.path(work.file_hash)
    index = work.page_number - 1
    rendered = render_page(pdf_path, index, dpi=settings.ocr_dpi)
    for size, data in make_previews(rendered.image).items():
        storage.write_preview(work.file_hash, work.page_number, size, data)
    layer = extract_text_layer(pdf_path, index)
    if work.ocr_mode == "off":
        return layer, "text_layer" if layer else "none", None
    if work.ocr_mode == "auto" and has_usable_text(layer):
        return layer, "text_layer", None
    engine = ocr_engine(settings, work.ocr_engine)
    words = engine.recognize(rendered.image, list(work.ocr_languages))
    return image_words_to_page(words, rendered.scale), "ocr", engine.name


@with_connection
def process_page(page_id: int) -> str:
    """The job for one page; returns what happened (done, failed, skipped)."""
    settings = get_settings()
    worker = worker_name()
    work = claim_page(page_id, worker, settings.page_lease_seconds)
    if work is None:
        return "skipped"  # done already, or another live job holds it
    redis = _redis(settings)
    _publish_page(redis, work, progress.STARTED, worker)
    with _lease(page_id, worker, settings.page_lease_seconds):
        try:
            words, source, engine = read_page(settings, work)
        except (DocumentError, OcrError) as error:
            # Retrying cannot help: the page is unreadable, or OCR cannot run as asked (a
            # language or model that is not installed). The reason is kept for the person, who
            # can retry the page with other settings; the rest of the document goes on.
            reason = error.message if isinstance(error, DocumentError) else str(error)
            fail_page(page_id, reason)
            _publish_page(redis, work, progress.PAGE_FAILED, worker, reason)
            finish_if_last(settings, redis, work.version_id)
            return "failed"
        except Exception:
            # Maybe transient (a storage hiccup, a lost connection): RQ retries the job with
            # back-off, and the retry must be able to claim the page again.
            release_page(page_id, worker)
            raise
    language = ",".join(work.ocr_languages) if source == "ocr" else None
    if complete_page(page_id, words, source=source, engine=engine, language=language):
        _publish_page(redis, work, progress.PAGE_DONE, worker)
    finish_if_last(settings, redis, work.version_id)
    return "done"


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
        done, failed, total = version_counts(version.id)
        progress.publish(
            connection,
            progress.ProgressEvent(
                version.document_id, progress.PAGE_FAILED, done + failed, total, page.number,
                "This page could not be processed.",
            ),
        )  # fmt: skip
        finish_if_last(get_settings(), connection, version.id)


@with_connection
def finalize_version(version_id: int) -> str:
    """Write the searchable PDF as a new version, hand the document to indexing, mark it ready.

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
        set_document_status(document_id, Document.FAILED, message)
        progress.publish(redis, document_progress(document_id, progress.FAILED))
        return "failed"
    if newest.id == version_id and not version.has_text_layer:
        _write_text_layer_version(settings, version, pages)
    failed = len(pages) - len(done)
    note = f"{failed} of {len(pages)} pages could not be read." if failed else None
    set_document_status(document_id, Document.READY, note)
    if redis is not None:
        enqueue_index(redis, document_id)
    progress.publish(redis, document_progress(document_id, progress.READY))
    return "ready"


def _write_text_layer_version(
    settings: Settings, version: DocumentVersion, pages: list[Page]
) -> None:
    storage = Storage(settings.storage_dir)
    words = [decode_words(page.words) if page.source == "ocr" else [] for page in pages]
    with storage.scratch() as scratch:
        target = scratch / "searchable.pdf"
        write_searchable_pdf(storage.path(version.file_hash), words, target)
        file_hash = storage.put(target)
    with database.atomic():
        successor = DocumentVersion.create(
            document=version.document_id, number=version.number + 1, file_hash=file_hash,
            base_hash=version.base_hash, page_count=version.page_count, has_text_layer=True,
            finalize_enqueued=True,
            note="Text layer added",
        )  # fmt: skip
        copy_pages(pages, successor.id)
    # Previews are addressed by file hash: the new file shows the same pages.
    for page in pages:
        for size in PREVIEW_SIZES:
            storage.link_preview(version.file_hash, page.number, file_hash, page.number, size)
