"""Uploading a document: validate it, store it, and create its first version and pages.

When :func:`upload_document` returns, the document, its first version and one pending page row
per page exist in the database, and its first pages have been handed to the queue, as many as
the owner's turn allows (see :mod:`archivist.core.scheduling`; with the queue unreachable, the
reconciler does it later). Everything that can be wrong with the file is
found here and reported as a :class:`DocumentError` before anything is created.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from peewee import IntegrityError
from redis import Redis
from redis.exceptions import RedisError

from archivist.core.accounts.audit import record
from archivist.core.db import database
from archivist.core.document_errors import DocumentError, DocumentErrorCode
from archivist.core.errors import UserFacingError
from archivist.core.filetypes import FileType
from archivist.core.images import MAX_IMAGE_PIXELS, ImageLimits, image_to_pdf
from archivist.core.ingestion.duplicates import DuplicateDocument, find_duplicate
from archivist.core.models import Document, DocumentVersion, Node, Page
from archivist.core.nodes import get_node, special_folder
from archivist.core.ocr_languages import check_readable
from archivist.core.pdf import DocumentInfo, inspect_document
from archivist.core.pdf_repair import rewrite_pdf
from archivist.core.progress import QUEUED, ProgressEvent, publish
from archivist.core.scheduling import queue_next_pages
from archivist.core.settings import Settings
from archivist.core.storage import Storage
from archivist.core.upload_keys import earlier_upload, hold_key, key_digest
from archivist.core.users import Viewer

OCR_MODES = ("auto", "force", "off")
LANGUAGE = re.compile(r"^[a-z]{2,3}$")
PAGE_ROWS_PER_INSERT = 500


@dataclass(frozen=True)
class UploadOptions:
    filename: str
    folder_id: str | None = None
    title: str | None = None
    languages: tuple[str, ...] | None = None
    ocr_mode: str = "auto"
    # Opens a user-password-protected PDF; used once, to store the file decrypted, never kept.
    password: str | None = dataclasses.field(default=None, repr=False)
    # Keep a second document when the owner already has one with the same content.
    allow_duplicate: bool = False
    # A retry with the same key gives the first upload's document (see core/upload_keys.py).
    idempotency_key: str | None = None


def check_languages(languages: tuple[str, ...]) -> tuple[str, ...]:
    """Normalised ISO 639-1 codes; raises UserFacingError(INVALID_LANGUAGE)."""
    chosen = tuple(lang.strip().lower() for lang in languages)
    bad = [lang for lang in chosen if not LANGUAGE.match(lang)]
    if not chosen or bad:
        raise UserFacingError(
            "INVALID_LANGUAGE",
            f"Languages are ISO 639-1 codes such as en, de or fr; got {', '.join(bad) or 'none'}.",
            "languages",
        )
    return chosen


def _target_folder(viewer: Viewer, folder_id: str | None) -> Node:
    if folder_id is None:
        return special_folder(viewer, Node.INBOX, "document.upload")
    folder = get_node(viewer, folder_id, "folderId", "document.upload")
    if folder.kind != Node.FOLDER:
        raise UserFacingError(
            "NOT_A_FOLDER", "Documents go into folders, not documents.", "folderId"
        )
    return folder


def unique_title(parent_id: int, title: str) -> str:
    """``title``, or ``title (2)``, ``title (3)``... whichever is free among the siblings."""
    taken = {
        node.title
        for node in Node.select(Node.title).where(
            (Node.parent == parent_id) & Node.title.startswith(title)
        )
    }
    candidate, number = title, 1
    while candidate in taken:
        number += 1
        candidate = f"{title} ({number})"
    return candidate


def _clean_title(options: UploadOptions) -> str:
    title = (options.title or Path(options.filename or "").stem or "Untitled").strip()
    return re.sub(r"[\x00-\x1f/]+", " ", title)[:200] or "Untitled"


def upload_document(
    settings: Settings,
    viewer: Viewer,
    stream: BinaryIO,
    options: UploadOptions,
    redis: Redis | None,
) -> Node:
    """Store an upload and create its document; returns the document's node.

    Raises DocumentError for a file we cannot take (with the reason), UserFacingError for bad
    options (folder, languages, OCR mode; UNSUPPORTED_LANGUAGE for languages the server's OCR
    engine cannot read), DuplicateDocument when the folder's owner already has a document
    with the same content (unless ``options.allow_duplicate``).
    engine cannot read). With an idempotency key that made a document within the window, that
    document comes back and nothing else happens.
    """
    digest = None
    if options.idempotency_key is not None:
        digest = key_digest(options.idempotency_key)
        earlier = earlier_upload(viewer, digest)
        if earlier is not None:
            return Node.get_by_id(earlier)
    if options.ocr_mode not in OCR_MODES:
        raise UserFacingError(
            "INVALID_OCR_MODE", f"OCR mode is one of {', '.join(OCR_MODES)}.", "ocrMode"
        )
    languages = check_languages(options.languages or settings.ocr_languages)
    if options.ocr_mode != "off":
        check_readable(settings, settings.ocr_engine, languages)
    folder = _target_folder(viewer, options.folder_id)
    storage = Storage(settings.storage_dir)
    with storage.scratch() as scratch:
        received = scratch / "upload"
        original_hash, size = storage.receive(stream, received, settings.max_upload_bytes)
        if not options.allow_duplicate:
            existing = find_duplicate(folder, original_hash, viewer)
            if existing is not None:
                # An upload with the same key may have committed since the key was looked
                # up above: its document is this upload's answer, not a duplicate.
                if digest is not None and (earlier := earlier_upload(viewer, digest)):
                    return Node.get_by_id(earlier)
                raise DuplicateDocument(existing)
        limits = ImageLimits(
            MAX_IMAGE_PIXELS, settings.max_upload_pixels, settings.max_upload_pages
        )
        info, pdf = _inspect(received, scratch, limits, options.password)
        if info.file_type is not FileType.PDF:
            pdf = scratch / "converted.pdf"
            image_to_pdf(received, pdf, limits)
        storage.put(received)
        pdf_hash = storage.put(pdf) if pdf is not received else original_hash
    stored = StoredUpload(info, original_hash, size, pdf_hash)
    node_id, made = _create_rows(settings, viewer, folder, options, languages, stored, digest)
    if made:
        pages = stored.info.page_count
        record(viewer, "uploadDocument", node_id=node_id, filename=options.filename, pages=pages)
        _hand_to_workers(settings, redis, node_id, stored.info.page_count)
    node: Node = Node.get_by_id(node_id)
    return node


def _inspect(
    received: Path, scratch: Path, limits: ImageLimits, password: str | None
) -> tuple[DocumentInfo, Path]:
    """What the upload holds, and the PDF to store as its first version: the upload itself,
    or, for a PDF that PDFium cannot open (damaged, cut off, encrypted), the copy that
    qpdf rebuilds (decrypted with ``password``). Raises :class:`DocumentError`.
    """

    def inspect(path: Path) -> DocumentInfo:
        # Limits are checked on headers (page tree, image frame headers) before any decoding.
        return inspect_document(
            path,
            max_pages=limits.max_frames,
            max_image_pixels=limits.max_pixels,
            max_total_pixels=limits.max_total_pixels,
        )

    try:
        return inspect(received), received
    except DocumentError as error:
        if error.code not in (DocumentErrorCode.BROKEN_PDF, DocumentErrorCode.ENCRYPTED):
            raise
        refused = error
    repaired = scratch / "repaired.pdf"
    try:
        rewrite_pdf(received, repaired, password=password, max_pages=limits.max_frames)
    except DocumentError as error:
        # An encrypted file qpdf cannot rebuild either: asking for a password says more.
        if (
            error.code is DocumentErrorCode.BROKEN_PDF
            and refused.code is DocumentErrorCode.ENCRYPTED
        ):
            raise refused from error
        raise
    return inspect(repaired), repaired


@dataclass(frozen=True)
class StoredUpload:
    """An upload in storage: what it holds, the original's hash and size, and its PDF's hash."""

    info: DocumentInfo
    original_hash: str
    size: int
    pdf_hash: str


def _create_rows(
    settings: Settings,
    viewer: Viewer,
    folder: Node,
    options: UploadOptions,
    languages: tuple[str, ...],
    stored: StoredUpload,
    digest: str | None,
) -> tuple[int, bool]:
    """Create node, document, version and pages in one transaction (with the idempotency key's
    row); returns the node id and True, or, when a concurrent upload with the same key got
    there first, that upload's node id and False.

    Pages start waiting their turn (no job id): :mod:`archivist.core.scheduling` queues them.
    """
    info, original_hash, size, pdf_hash = (
        stored.info, stored.original_hash, stored.size, stored.pdf_hash,
    )  # fmt: skip
    base_title = _clean_title(options)
    for _ in range(5):  # a concurrent upload may take the same title between check and insert
        try:
            with database.atomic():
                node = Node.create(
                    kind=Node.DOCUMENT,
                    title=unique_title(folder.id, base_title),
                    parent=folder.id,
                    owner_user=folder.owner_user_id,
                    owner_group=folder.owner_group_id,
                )
                Document.create(
                    node=node,
                    original_hash=original_hash,
                    original_name=(options.filename or "upload")[:255],
                    original_type=info.file_type.value,
                    original_size=size,
                    ocr_languages=",".join(languages),
                    ocr_mode=options.ocr_mode,
                    ocr_engine=settings.ocr_engine,
                    status=Document.PROCESSING,
                )
                version = DocumentVersion.create(
                    document=node, number=1, file_hash=pdf_hash, base_hash=pdf_hash,
                    page_count=info.page_count,
                    note="Uploaded",
                )  # fmt: skip
                rows = [
                    {"version": version.id, "number": number, "width": w, "height": h}
                    for number, (w, h) in enumerate(info.page_sizes, start=1)
                ]
                for start in range(0, len(rows), PAGE_ROWS_PER_INSERT):
                    Page.insert_many(rows[start : start + PAGE_ROWS_PER_INSERT]).execute()
                if digest is not None:
                    hold_key(viewer, digest, node.id)
                node_id: int = node.id
                return node_id, True
        except IntegrityError:
            earlier = earlier_upload(viewer, digest) if digest is not None else None
            if earlier is not None:  # the same key's upload committed meanwhile
                return earlier, False
            continue
    raise UserFacingError("TITLE_TAKEN", "Could not find a free title; try another.", "title")


def _hand_to_workers(
    settings: Settings, redis: Redis | None, document_id: int, page_count: int
) -> None:
    """Queue the pages the owner's turn allows; without Redis the reconciler does it later."""
    if redis is None:
        return
    try:
        queue_next_pages(redis, settings, document_id)
    except RedisError:
        return
    publish(redis, ProgressEvent(document_id, QUEUED, 0, page_count))
