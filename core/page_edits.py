"""Editing a document's pages: every edit writes a new PDF and makes a new version.

Page text, words and previews carry over from the pages they came from (words turned with a
rotated page; preview images turned likewise), so no OCR runs. Each function returns the ids
of the documents whose search entries changed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from archivist.core import page_ops
from archivist.core.db import database, utcnow
from archivist.core.documents import unique_title
from archivist.core.errors import UserFacingError
from archivist.core.folders import clean_title, live_folder
from archivist.core.images import carry_previews
from archivist.core.models import Document, DocumentVersion, Node, Page
from archivist.core.nodes import get_node
from archivist.core.page_ops import PageOrigin
from archivist.core.pages import decode_words, encode_words
from archivist.core.permissions import require, same_owner
from archivist.core.processing import CARRIED_OVER, current_version
from archivist.core.settings import Settings
from archivist.core.storage import Storage
from archivist.core.users import Viewer
from archivist.core.versions import add_version


def _editable(
    viewer: Viewer, document_id: str, field: str = "documentId"
) -> tuple[Node, DocumentVersion, list[Page]]:
    node = get_node(viewer, document_id, field, "page.edit")
    if node.kind != Node.DOCUMENT:
        raise UserFacingError("NOT_A_DOCUMENT", "Pages belong to documents.", field)
    # The version first, then the status: a version made in between (a reprocess) is then
    # refused by the unique version number (DOCUMENT_PROCESSING), never built upon.
    version = current_version(node.id)
    assert version is not None
    document = Document.get(Document.node == node.id)
    if document.status == Document.PROCESSING:
        raise UserFacingError(
            "DOCUMENT_PROCESSING", "This document is still being processed; wait until it is done.",
            field,
        )  # fmt: skip
    pages = list(Page.select().where(Page.version == version.id).order_by(Page.number))
    return node, version, pages


def _page_rows(
    version_id: int, origins: Sequence[PageOrigin], sources: Sequence[Sequence[Page]],
    own: int | None = None,
) -> list[dict[str, object]]:  # fmt: skip
    """The new version's page rows; pages from ``sources[own]`` (the document's own current
    pages) keep their identity, pages from another document are pages of their own."""
    rows: list[dict[str, object]] = []
    for number, origin in enumerate(origins, start=1):
        page = sources[origin.source][origin.number - 1]
        row: dict[str, object] = {field: getattr(page, field) for field in CARRIED_OVER}
        row.update(version=version_id, number=number)
        if origin.source == own:
            row["logical_id"] = page.logical
        if origin.rotation:
            words = page_ops.rotate_words(decode_words(page.words), page.width, page.height,
                                          origin.rotation)  # fmt: skip
            row["words"] = encode_words(words)
            row["width"], row["height"] = page_ops.rotated_size(page.width, page.height,
                                                                origin.rotation)  # fmt: skip
        rows.append(row)
    return rows


def _carry_previews(
    storage: Storage, new_hash: str, origins: Sequence[PageOrigin], source_hashes: Sequence[str]
) -> None:
    for number, origin in enumerate(origins, start=1):
        source = (source_hashes[origin.source], origin.number)
        carry_previews(storage, source, (new_hash, number), origin.rotation)


Operation = Callable[[Sequence[Path], Path], list[PageOrigin]]


@dataclass(frozen=True)
class Written:
    file_hash: str  # the new PDF, with our text layer where its sources had one
    base_hash: str  # the same edit of the layer-free files (what reprocessing starts from)
    origins: list[PageOrigin]


def _write(
    settings: Settings, operation: Operation, versions: Sequence[DocumentVersion]
) -> Written:
    """Run a page_ops operation on the versions' files, and on their layer-free bases."""
    storage = Storage(settings.storage_dir)

    def run(hashes: list[str]) -> tuple[str, list[PageOrigin]]:
        with storage.scratch() as scratch:
            out = scratch / "edited.pdf"
            origins = operation([storage.path(h) for h in hashes], out)
            return storage.put(out), origins

    files = [str(v.file_hash) for v in versions]
    bases = [str(v.base_hash) for v in versions]
    file_hash, origins = run(files)
    base_hash = file_hash if bases == files else run(bases)[0]
    _carry_previews(storage, file_hash, origins, files)
    return Written(file_hash, base_hash, origins)


def _new_version(
    node: Node, version: DocumentVersion, written: Written, sources: Sequence[Sequence[Page]],
    note: str, own: int | None = 0,
) -> None:  # fmt: skip
    """A new version of ``node`` (its own pages are ``sources[own]``, None: none of them)."""
    with database.atomic():
        # Two edits from the same version: the second gets DOCUMENT_PROCESSING (core/versions).
        new = add_version(
            version, file_hash=written.file_hash, base_hash=written.base_hash,
            page_count=len(written.origins), has_text_layer=version.has_text_layer,
            finalize_enqueued=True, note=note,
        )  # fmt: skip
        Page.insert_many(_page_rows(new.id, written.origins, sources, own)).execute()
        Node.update(updated_at=utcnow()).where(Node.id == node.id).execute()


def rotate(
    settings: Settings, viewer: Viewer, document_id: str, rotations: Mapping[int, int]
) -> list[int]:
    bad = [degrees for degrees in rotations.values() if degrees % 90]
    if bad:
        raise UserFacingError(
            "INVALID_ROTATION", f"Pages turn by multiples of 90 degrees, not {bad[0]}.", "pages"
        )
    node, version, pages = _editable(viewer, document_id)
    written = _write(
        settings, lambda src, out: page_ops.rotate_pages(src[0], out, rotations), [version]
    )
    turned = ", ".join(str(n) for n in sorted(rotations))
    _new_version(node, version, written, [pages], f"Rotated page(s) {turned}")
    return [node.id]


def reorder(
    settings: Settings, viewer: Viewer, document_id: str, order: Sequence[int]
) -> list[int]:
    node, version, pages = _editable(viewer, document_id)
    written = _write(
        settings, lambda src, out: page_ops.reorder_pages(src[0], out, order), [version]
    )
    _new_version(node, version, written, [pages], "Pages reordered")
    return [node.id]


def delete(
    settings: Settings, viewer: Viewer, document_id: str, numbers: Sequence[int]
) -> list[int]:
    node, version, pages = _editable(viewer, document_id)
    written = _write(
        settings, lambda src, out: page_ops.delete_pages(src[0], out, numbers), [version]
    )
    _new_version(node, version, written, [pages], f"Deleted page(s) {', '.join(map(str, numbers))}")
    return [node.id]


def _new_document(
    viewer: Viewer, source: Node, folder: Node, title: str, written: Written,
    sources: Sequence[Sequence[Page]], note: str,
) -> Node:  # fmt: skip
    document = Document.get(Document.node == source.id)
    with database.atomic():
        node: Node = Node.create(
            kind=Node.DOCUMENT, title=unique_title(folder.id, title), parent=folder.id,
            owner_user=folder.owner_user_id, owner_group=folder.owner_group_id,
        )  # fmt: skip
        Document.create(
            node=node, **{f: getattr(document, f) for f in (
                "original_hash", "original_name", "original_type", "original_size",
                "ocr_languages", "ocr_mode", "ocr_engine", "status",
            )},
            # A document has only its owner's type (core/permissions.py): pages taken into
            # another owner's folder (by an editor of a share) leave the type behind.
            document_type=document.document_type_id if same_owner(source, folder) else None,
        )  # fmt: skip
        version = DocumentVersion.create(
            document=node, number=1, file_hash=written.file_hash, base_hash=written.base_hash,
            page_count=len(written.origins), has_text_layer=True, finalize_enqueued=True,
            note=note,
        )  # fmt: skip
        Page.insert_many(_page_rows(version.id, written.origins, sources)).execute()
    return node


def extract(
    settings: Settings, viewer: Viewer, document_id: str, numbers: Sequence[int],
    folder_id: str | None, one_per_page: bool,
) -> tuple[list[Node], list[int]]:  # fmt: skip
    """New documents of the chosen pages (one, or one per page); the source is unchanged."""
    node, version, pages = _editable(viewer, document_id)
    folder = (
        live_folder(viewer, folder_id, "folderId") if folder_id else Node.get_by_id(node.parent_id)
    )
    require(viewer, folder, "node.create", "folderId")
    groups = [[n] for n in numbers] if one_per_page else [list(numbers)]
    created = []
    for group in groups:

        def extract_group(
            src: Sequence[Path], out: Path, group: list[int] = group
        ) -> list[PageOrigin]:
            return page_ops.extract_pages(src[0], out, group)

        written = _write(settings, extract_group, [version])
        suffix = f"page {group[0]}" if len(group) == 1 else f"pages {', '.join(map(str, group))}"
        note = f"Extracted from '{node.title}'"
        title = f"{node.title} ({suffix})"
        created.append(_new_document(viewer, node, folder, title, written, [pages], note))
    return created, [n.id for n in created]


def move_pages(
    settings: Settings, viewer: Viewer, source_id: str, numbers: Sequence[int], target_id: str,
    replace: bool,
) -> list[int]:  # fmt: skip
    """Move pages into another document (appended, or replacing its pages); both get versions."""
    source_node, source_version, source_pages = _editable(viewer, source_id, "sourceId")
    target_node, target_version, target_pages = _editable(viewer, target_id, "targetId")
    if source_node.id == target_node.id:
        raise UserFacingError(
            "SAME_DOCUMENT", "Pick another document to move pages into.", "targetId"
        )
    # Refuse before writing anything: the source must keep at least one page.
    page_ops.pages_after_delete(len(source_pages), numbers)
    if replace:
        written = _write(
            settings, lambda src, out: page_ops.extract_pages(src[0], out, numbers),
            [source_version],
        )  # fmt: skip
        sources: list[Sequence[Page]] = [source_pages]
    else:
        written = _write(
            settings,
            lambda src, out: page_ops.append_pages(src[0], out, src[1], numbers),
            [target_version, source_version],
        )
        sources = [target_pages, source_pages]
    listed = ", ".join(map(str, numbers))
    how = "replaced the pages" if replace else "appended"
    note = f"Page(s) {listed} of '{source_node.title}' {how}"
    _new_version(target_node, target_version, written, sources, note, None if replace else 0)
    rest = _write(
        settings, lambda src, out: page_ops.delete_pages(src[0], out, numbers), [source_version]
    )
    _new_version(source_node, source_version, rest, [source_pages],
                 f"Page(s) {listed} moved to '{target_node.title}'")  # fmt: skip
    return [source_node.id, target_node.id]


def merge(
    settings: Settings, viewer: Viewer, document_ids: Sequence[str], title: str | None,
    folder_id: str | None,
) -> tuple[Node, list[int]]:  # fmt: skip
    """One new document of all the documents' pages, in order; the originals go to the trash."""
    from archivist.core.folders import trash_nodes

    if len(document_ids) < 2:
        raise UserFacingError("TOO_FEW_DOCUMENTS", "Merging takes two documents or more.", "ids")
    parts = [_editable(viewer, document_id, "ids") for document_id in document_ids]
    first = parts[0][0]
    folder = (
        live_folder(viewer, folder_id, "folderId") if folder_id else Node.get_by_id(first.parent_id)
    )
    require(viewer, folder, "node.create", "folderId")
    written = _write(settings, page_ops.merge_pdfs, [version for _, version, _ in parts])
    merged = _new_document(
        viewer, first, folder, clean_title(title) if title else first.title, written,
        [pages for _, _, pages in parts], f"Merged from {len(parts)} documents",
    )  # fmt: skip
    gone = trash_nodes(viewer, [node.id for node, _, _ in parts])
    return merged, [merged.id, *gone]
