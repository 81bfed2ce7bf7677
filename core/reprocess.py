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
from archivist.core.ocr_languages import check_readable
from archivist.core.processing import copy_pages, current_version, set_document_status
from archivist.core.progress import QUEUED, ProgressEvent, publish
from archivist.core.scheduling import queue_next_pages
from archivist.core.settings import OCR_ENGINES, Settings
from archivist.core.users import Viewer
from archivist.core.versions import add_version


def _refuse_while_processing(document: Document) -> None:
    if document.status == Document.PROCESSING:
        raise UserFacingError(
            "DOCUMENT_PROCESSING", "This document is still being processed; wait until it is done."
        )


def _new_version(current: DocumentVersion, redo: set[int], note: str) -> DocumentVersion:
    """Copy the current version, from its layer-free file, with the pages in ``redo`` pending.

    Raises UserFacingError(DOCUMENT_PROCESSING) when another request made a version first.
    """
    version = add_version(
        current, file_hash=current.base_hash, base_hash=current.base_hash,
        page_count=current.page_count, note=note,
    )  # fmt: skip
    pages = list(Page.select().where(Page.version == current.id).order_by(Page.number))
    copy_pages(pages, version.id, redo)
    # The pages to do wait their turn like an upload's (see core/scheduling.py).
    Page.update(job_id=None).where(
        (Page.version == version.id) & (Page.status == Page.PENDING)
    ).execute()
    set_document_status(current.document_id, Document.PROCESSING)
    return version


def _enqueue(settings: Settings, redis: Redis | None, version: DocumentVersion) -> None:
    pages = Page.select().where(Page.version == version.id)
    total = pages.count()
    pending = pages.where(Page.status == Page.PENDING).count()
    if redis is not None:
        try:
            queue_next_pages(redis, settings, version.document_id)
        except RedisError:
            return  # the reconciler enqueues them later
        publish(redis, ProgressEvent(version.document_id, QUEUED, total - pending, total))


def _apply_options(
    settings: Settings,
    document: Document,
    languages: list[str] | None,
    engine: str | None,
    mode: str | None,
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
    if changes.get("ocr_mode", document.ocr_mode) != "off":
        # The pages will be read with these: refuse now what the engine cannot read.
        check_readable(
            settings,
            changes.get("ocr_engine", document.ocr_engine),
            tuple(changes.get("ocr_languages", document.ocr_languages).split(",")),
        )
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
    """Process one page of the current version again; returns the document's node.

    ``page_id`` is the page's id across versions (the API's ``Page.id``); the row of any
    version of it names the same page. Raises OLD_VERSION when the current version no longer
    has that page (it was deleted or moved away).
    """
    row = Page.get_or_none(Page.id == parse_id(page_id, "pageId", ("Page",)))
    if row is None:
        raise NotFound("page", "pageId")
    version = DocumentVersion.get_by_id(row.version_id)
    try:
        node = get_node(viewer, version.document_id, "pageId", "page.edit")
    except NotFound:
        # A stranger's page is answered exactly as a missing one (no existence oracle).
        raise NotFound("page", "pageId") from None
    current = current_version(node.id)
    logical = row.logical
    page = (
        None
        if current is None
        else Page.get_or_none(
            (Page.version == current.id) & ((Page.id == logical) | (Page.logical_id == logical))
        )
    )
    if current is None or page is None:
        raise UserFacingError("OLD_VERSION", "Only pages of the current version can be retried.")
    document = Document.get(Document.node == node.id)
    _refuse_while_processing(document)
    with database.atomic():  # options and version together, or neither (a lost race)
        _apply_options(settings, document, languages, engine, None)
        made = _new_version(current, {page.number}, f"Page {page.number} processed again")
    _enqueue(settings, redis, made)
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
    node = get_node(viewer, document_id, "documentId", "page.edit")
    if node.kind != Node.DOCUMENT:
        raise NotFound("document", "documentId")
    # The version first, then the status: a version made in between is then refused by the
    # unique version number (DOCUMENT_PROCESSING), never built upon.
    current = current_version(node.id)
    assert current is not None
    document = Document.get(Document.node == node.id)
    _refuse_while_processing(document)
    redo = set(range(1, current.page_count + 1))
    with database.atomic():  # options and version together, or neither (a lost race)
        _apply_options(settings, document, languages, engine, mode)
        made = _new_version(current, redo, "Processed again")
    _enqueue(settings, redis, made)
    return node


def redo_failed_page(settings: Settings, redis: Redis | None, page: Page) -> int:
    """Process a page whose job failed again, for an administrator retrying the job (who
    needs no access to the document: the check is the caller's, see core/permissions.py).

    The page with the same number in the document's current version is redone as
    ``retryPage`` does (a new version). Returns the document id. Raises UserFacingError:
    JOB_STALE (that page is gone, or no longer failed: it was processed again since),
    DOCUMENT_PROCESSING.
    """
    version = DocumentVersion.get_by_id(page.version_id)
    document = Document.get(Document.node == version.document_id)
    current = current_version(version.document_id)
    same = (
        Page.get_or_none((Page.version == current.id) & (Page.number == page.number))
        if current is not None
        else None
    )
    if current is None or same is None or same.status != Page.FAILED:
        raise UserFacingError(
            "JOB_STALE", "Its page is gone or was processed again since; discard the job."
        )
    _refuse_while_processing(document)
    with database.atomic():
        made = _new_version(current, {page.number}, f"Page {page.number} processed again")
    _enqueue(settings, redis, made)
    return int(version.document_id)
