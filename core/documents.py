"""Uploading a document: validate it, store it, and create its first version and pages.

When :func:`upload_document` returns, the document, its first version and one pending page row
per page exist in the database, and a job per page has been handed to the queue (or, with the
queue unreachable, waits for the reconciler). Everything that can be wrong with the file is
found here and reported as a :class:`DocumentError` before anything is created.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from peewee import IntegrityError
from redis import Redis
from redis.exceptions import RedisError

from archivist.core.db import database
from archivist.core.errors import UserFacingError
from archivist.core.filetypes import FileType
from archivist.core.images import image_to_pdf
from archivist.core.models import Document, DocumentVersion, Node, Page
from archivist.core.nodes import get_node, special_folder
from archivist.core.pdf import DocumentInfo, inspect_document
from archivist.core.progress import QUEUED, ProgressEvent, publish
from archivist.core.queue import enqueue_pages, new_page_job_id
from archivist.core.settings import Settings
from archivist.core.storage import Storage
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
        return special_folder(viewer, Node.INBOX)
    folder = get_node(viewer, folder_id)
    if folder.kind != Node.FOLDER:
        raise UserFacingError("NOT_A_FOLDER", "Documents go into folders, not documents.", "folder")
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
    options (folder, languages, OCR mode).
    """
    if options.ocr_mode not in OCR_MODES:
        raise UserFacingError(
            "INVALID_OCR_MODE", f"OCR mode is one of {', '.join(OCR_MODES)}.", "ocrMode"
        )
    languages = check_languages(options.languages or settings.ocr_languages)
    folder = _target_folder(viewer, options.folder_id)
    storage = Storage(settings.storage_dir)
    with storage.scratch() as scratch:
        received = scratch / "upload"
        original_hash, size = storage.receive(stream, received, settings.max_upload_bytes)
        info = inspect_document(received)
        if info.file_type is FileType.PDF:
            pdf = received
        else:
            pdf = scratch / "converted.pdf"
            image_to_pdf(received, pdf)
        storage.put(received)
        pdf_hash = storage.put(pdf) if pdf is not received else original_hash
    stored = StoredUpload(info, original_hash, size, pdf_hash)
    node_id, jobs = _create_rows(settings, folder, options, languages, stored)
    _hand_to_workers(settings, redis, node_id, jobs)
    node: Node = Node.get_by_id(node_id)
    return node


@dataclass(frozen=True)
class StoredUpload:
    """An upload in storage: what it holds, the original's hash and size, and its PDF's hash."""

    info: DocumentInfo
    original_hash: str
    size: int
    pdf_hash: str


def _create_rows(
    settings: Settings,
    folder: Node,
    options: UploadOptions,
    languages: tuple[str, ...],
    stored: StoredUpload,
) -> tuple[int, list[tuple[int, str]]]:
    """Create node, document, version and pages in one transaction.

    Returns the node id and (page id, job id) per page.
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
                    {"version": version.id, "number": number, "width": w, "height": h,
                     "job_id": new_page_job_id()}
                    for number, (w, h) in enumerate(info.page_sizes, start=1)
                ]  # fmt: skip
                for start in range(0, len(rows), PAGE_ROWS_PER_INSERT):
                    Page.insert_many(rows[start : start + PAGE_ROWS_PER_INSERT]).execute()
                jobs = [
                    (page.id, str(page.job_id))
                    for page in Page.select(Page.id, Page.job_id)
                    .where(Page.version == version.id)
                    .order_by(Page.number)
                ]
                return node.id, jobs
        except IntegrityError:
            continue
    raise UserFacingError("TITLE_TAKEN", "Could not find a free title; try another.", "title")


def _hand_to_workers(
    settings: Settings, redis: Redis | None, document_id: int, jobs: list[tuple[int, str]]
) -> None:
    """Enqueue the page jobs; without a reachable Redis the reconciler enqueues them later."""
    if redis is None:
        return
    try:
        enqueue_pages(redis, settings, jobs)
    except RedisError:
        return
    publish(redis, ProgressEvent(document_id, QUEUED, 0, len(jobs)))
