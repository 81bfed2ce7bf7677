"""The processing state of documents and pages, kept in the database (the source of truth).

Page jobs claim a page with a lease, renew it while they work, and record their result with a
conditional update, so a page done twice (a retry, a re-enqueue by the reconciler) is stored
once. The job that sees the last page finish enqueues the final step exactly once (an atomic
flag on the version).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from peewee import fn

from archivist.core.db import database, utcnow
from archivist.core.models import Document, DocumentVersion, Node, Page
from archivist.core.page_ops import rotate_words, rotated_size
from archivist.core.pages import decode_words, encode_words, words_to_text
from archivist.core.progress import ProgressEvent
from archivist.core.words import Word


@dataclass(frozen=True)
class PageWork:
    """What a page job needs to know, read in one go."""

    page_id: int
    page_number: int
    version_id: int
    file_hash: str
    document_id: int
    ocr_mode: str
    ocr_languages: tuple[str, ...]
    ocr_engine: str


def current_version(document_id: int) -> DocumentVersion | None:
    version: DocumentVersion | None = (
        DocumentVersion.select()
        .where(DocumentVersion.document == document_id)
        .order_by(DocumentVersion.number.desc())
        .first()
    )
    return version


def claim_page(page_id: int, worker: str, lease_seconds: float) -> PageWork | None:
    """Take the page for ``worker``; None when it is done, failed, or leased to a live job."""
    now = utcnow()
    claimable = (Page.status == Page.PENDING) | (
        (Page.status == Page.PROCESSING) & ((Page.lease_until.is_null()) | (Page.lease_until < now))
    )
    claimed = (
        Page.update(
            status=Page.PROCESSING,
            worker=worker,
            lease_until=now + timedelta(seconds=lease_seconds),
            attempts=Page.attempts + 1,
        )
        .where((Page.id == page_id) & claimable)
        .execute()
    )
    if not claimed:
        return None
    page = Page.get_by_id(page_id)
    version = DocumentVersion.get_by_id(page.version_id)
    document = Document.get(Document.node == version.document_id)
    return PageWork(
        page_id=page.id,
        page_number=page.number,
        version_id=version.id,
        file_hash=version.file_hash,
        document_id=version.document_id,
        ocr_mode=document.ocr_mode,
        ocr_languages=tuple(document.ocr_languages.split(",")),
        ocr_engine=document.ocr_engine,
    )


def renew_lease(page_id: int, worker: str, lease_seconds: float) -> bool:
    """Extend the lease; False when the page is no longer this worker's."""
    count: int = (
        Page.update(lease_until=utcnow() + timedelta(seconds=lease_seconds))
        .where((Page.id == page_id) & (Page.worker == worker) & (Page.status == Page.PROCESSING))
        .execute()
    )
    return count > 0


def release_page(page_id: int, worker: str) -> None:
    """Give the page back (pending, no lease) so that a retry of its job can claim it."""
    Page.update(status=Page.PENDING, lease_until=None).where(
        (Page.id == page_id) & (Page.worker == worker) & (Page.status == Page.PROCESSING)
    ).execute()


def complete_page(
    page_id: int,
    words: list[Word],
    *,
    source: str,
    engine: str | None,
    language: str | None,
    turn: int = 0,
) -> bool:
    """Record the page's text, and the degrees it must ``turn`` clockwise to be upright (see
    ``Page.turn``); False when another run already stored it (nothing changes)."""
    count: int = (
        Page.update(
            status=Page.DONE,
            turn=turn,
            text=words_to_text(words),
            words=encode_words(words),
            source=source,
            engine=engine,
            language=language,
            error=None,
            lease_until=None,
            done_at=utcnow(),
        )
        .where((Page.id == page_id) & (Page.status != Page.DONE))
        .execute()
    )
    return count > 0


def fail_page(page_id: int, reason: str) -> bool:
    """Mark the page failed for good with a reason a person understands."""
    count: int = (
        Page.update(status=Page.FAILED, error=reason, lease_until=None, done_at=utcnow())
        .where((Page.id == page_id) & (Page.status != Page.DONE))
        .execute()
    )
    return count > 0


def version_counts(version_id: int) -> tuple[int, int, int]:
    """(done, failed, total) pages of a version."""
    rows = (
        Page.select(Page.status, fn.COUNT(Page.id).alias("n"))
        .where(Page.version == version_id)
        .group_by(Page.status)
    )
    counts: dict[str, int] = {row.status: int(getattr(row, "n")) for row in rows}  # noqa: B009
    total = sum(counts.values())
    return counts.get(Page.DONE, 0), counts.get(Page.FAILED, 0), total


def take_finalize_turn(version_id: int) -> bool:
    """True for exactly one caller once every page of the version is done or failed."""
    done, failed, total = version_counts(version_id)
    if done + failed < total:
        return False
    with database.atomic():
        count: int = (
            DocumentVersion.update(finalize_enqueued=True)
            .where((DocumentVersion.id == version_id) & ~DocumentVersion.finalize_enqueued)
            .execute()
        )
    return count > 0


def document_progress(document_id: int, status: str | None = None) -> ProgressEvent:
    """The document's state now, as the event a late subscriber gets first."""
    document = Document.get(Document.node == document_id)
    version = current_version(document_id)
    done, failed, total = version_counts(version.id) if version else (0, 0, 0)
    return ProgressEvent(
        document_id=document_id,
        status=status or document.status,
        pages_done=done + failed,
        pages_total=total,
        message=document.error,
    )


def set_document_status(document_id: int, status: str, error: str | None = None) -> None:
    Document.update(status=status, error=error).where(Document.node == document_id).execute()
    Node.update(updated_at=utcnow()).where(Node.id == document_id).execute()


# What a page keeps when a version is copied: its text and how it was made carry over.
CARRIED_OVER = ("width", "height", "status", "error", "text", "words", "language", "engine",
                "source", "attempts", "done_at", "worker")  # fmt: skip
RESET = {"status": Page.PENDING, "error": None, "text": "", "words": "[]", "source": None,
         "engine": None, "done_at": None, "worker": None}  # fmt: skip


def copy_pages(
    pages: list[Page],
    version_id: int,
    redo: set[int] | None = None,
    turns: Mapping[int, int] | None = None,
    same_document: bool = True,
) -> None:
    """Copy ``pages`` into version ``version_id``; those numbered in ``redo`` start over, and
    those numbered in ``turns`` are turned clockwise by that many degrees: their size and word
    boxes turn with them, as with a page edit's rotation (the new file's page must be turned
    alike). A copied page has nothing left to turn (``Page.turn`` 0).

    In a version of the same document the copies keep the pages' identity (``logical_id``);
    a copy into another document (``same_document=False``) is a page of its own.
    """
    from archivist.core.queue import new_page_job_id

    rows = []
    for page in pages:
        row: dict[str, object] = {"version": version_id, "number": page.number}
        if same_document:
            row["logical_id"] = page.logical
        row.update({field: getattr(page, field) for field in CARRIED_OVER})
        degrees = (turns or {}).get(page.number, 0)
        if degrees:
            words = rotate_words(decode_words(page.words), page.width, page.height, degrees)
            row["words"] = encode_words(words)
            row["width"], row["height"] = rotated_size(page.width, page.height, degrees)
        if redo and page.number in redo:
            row.update(RESET, job_id=new_page_job_id())
        rows.append(row)
    for start in range(0, len(rows), 500):
        Page.insert_many(rows[start : start + 500]).execute()
