"""Processing a document again: one page (``retryPage``) or all of them (``reprocessDocument``).

Either way a new version is made from the document's last file without our text layer, its
pages copied from the current version (text carries over), and the pages to redo set pending.
When they finish, the final step writes a new searchable version as after an upload.
"""

from __future__ import annotations

from redis import Redis
from redis.exceptions import RedisError

from archivist.core.db import database
from archivist.core.documents import OCR_MODES, check_languages
from archivist.core.errors import NotFound, UserFacingError
from archivist.core.models import Document, DocumentVersion, Node, Page
from archivist.core.nodes import get_node, parse_id
from archivist.core.processing import copy_pages, current_version, set_document_status
from archivist.core.progress import QUEUED, ProgressEvent, publish
from archivist.core.queue import enqueue_pages
from archivist.core.settings import OCR_ENGINES, Settings
from archivist.core.users import Viewer


def _refuse_while_processing(document: Document) -> None:
    if document.status == Document.PROCESSING:
        raise UserFacingError(
            "DOCUMENT_PROCESSING", "This document is still being processed; wait until it is done."
        )


def _new_version(
    settings: Settings, redis: Redis | None, document_id: int, redo: set[int], note: str
) -> None:
    """Copy the current version, from its layer-free file, with the pages in ``redo`` pending."""
    current = current_version(document_id)
    assert current is not None
    pages = list(Page.select().where(Page.version == current.id).order_by(Page.number))
    with database.atomic():
        version = DocumentVersion.create(
            document=document_id, number=current.number + 1, file_hash=current.base_hash,
            base_hash=current.base_hash, page_count=current.page_count, note=note,
        )  # fmt: skip
        copy_pages(pages, version.id, redo)
        set_document_status(document_id, Document.PROCESSING)
    jobs = [
        (page.id, str(page.job_id))
        for page in Page.select(Page.id, Page.job_id).where(
            (Page.version == version.id) & (Page.status == Page.PENDING)
        )
    ]
    if redis is not None:
        try:
            enqueue_pages(redis, settings, jobs)
        except RedisError:
            return  # the reconciler enqueues them later
        publish(redis, ProgressEvent(document_id, QUEUED, len(pages) - len(jobs), len(pages)))


def _apply_options(
    document: Document, languages: list[str] | None, engine: str | None, mode: str | None
) -> None:
    changes: dict[str, str] = {}
    if languages is not None:
        changes["ocr_languages"] = ",".join(check_languages(tuple(languages)))
    if engine is not None:
        if engine not in OCR_ENGINES:
            raise UserFacingError("INVALID_ENGINE", f"Engine is one of {OCR_ENGINES}.", "engine")
        changes["ocr_engine"] = engine
    if mode is not None:
        if mode not in OCR_MODES:
            raise UserFacingError("INVALID_OCR_MODE", "Unknown OCR mode.", "ocrMode")
        changes["ocr_mode"] = mode
    if changes:
        Document.update(**changes).where(Document.id == document.id).execute()


def retry_page(
    settings: Settings,
    viewer: Viewer,
    redis: Redis | None,
    page_id: str,
    languages: list[str] | None = None,
    engine: str | None = None,
) -> Node:
    """Process one page of the current version again; returns the document's node."""
    page = Page.get_or_none(Page.id == parse_id(page_id, "pageId"))
    if page is None:
        raise NotFound("page", "pageId")
    version = DocumentVersion.get_by_id(page.version_id)
    node = get_node(viewer, version.document_id)  # raises NotFound for strangers
    current = current_version(node.id)
    if current is None or current.id != version.id:
        raise UserFacingError("OLD_VERSION", "Only pages of the current version can be retried.")
    document = Document.get(Document.node == node.id)
    _refuse_while_processing(document)
    _apply_options(document, languages, engine, None)
    _new_version(settings, redis, node.id, {page.number}, f"Page {page.number} processed again")
    return node


def reprocess_document(
    settings: Settings,
    viewer: Viewer,
    redis: Redis | None,
    document_id: str,
    languages: list[str] | None = None,
    engine: str | None = None,
    mode: str | None = None,
) -> Node:
    """Process every page again; returns the document's node."""
    node = get_node(viewer, document_id)
    if node.kind != Node.DOCUMENT:
        raise NotFound("document", "documentId")
    document = Document.get(Document.node == node.id)
    _refuse_while_processing(document)
    _apply_options(document, languages, engine, mode)
    current = current_version(node.id)
    assert current is not None
    redo = set(range(1, current.page_count + 1))
    _new_version(settings, redis, node.id, redo, "Processed again")
    return node
