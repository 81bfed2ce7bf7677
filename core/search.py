"""What the search index holds for a document: one record per page of its current version.

``core`` hands ``indexes`` plain records; the index never reads the database itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from archivist.core.folders import ancestors, in_trash
from archivist.core.models import Document, DocumentType, DocumentVersion, Node, NodeTag, Page, Tag
from archivist.core.processing import current_version
from archivist.core.settings import Settings
from archivist.indexes import PageRecord, SearchIndex, open_index


def folder_path(node: Node) -> tuple[str, ...]:
    """Titles of the folders above ``node``, from its root (Home) down."""
    return tuple(folder.title for folder in ancestors(node))


def readers_of(node: Node) -> tuple[str, ...]:
    """The principals that may read ``node``, as the index's reader terms."""
    if node.owner_user_id is not None:
        return (f"user:{node.owner_user_id}",)
    return (f"group:{node.owner_group_id}",)


def page_records(document_id: int) -> list[PageRecord]:
    """Records for every finished page of the document's current version ([] if none)."""
    node = Node.get_or_none((Node.id == document_id) & (Node.kind == Node.DOCUMENT))
    document = Document.get_or_none(Document.node == document_id)
    version: DocumentVersion | None = current_version(document_id)
    if node is None or document is None or version is None:
        return []
    if in_trash(node):
        return []  # trashed documents leave the index; restoring them brings them back
    path = folder_path(node)
    readers = readers_of(node)
    tags = tuple(
        tag.name for tag in Tag.select(Tag.name).join(NodeTag).where(NodeTag.node == node.id)
    )
    type_row = DocumentType.get_or_none(DocumentType.id == document.document_type_id)
    owner = node.owner_user_id or 0
    default_language = document.ocr_languages.split(",")[0]
    pages = Page.select().where((Page.version == version.id) & (Page.status == Page.DONE))
    return [
        PageRecord(
            document_id=document_id,
            version_id=version.id,
            page_number=page.number,
            title=node.title,
            tags=tags,
            folder_path=path,
            document_type=type_row.name if type_row else None,
            language=(page.language or default_language).split(",")[0],
            owner_id=owner,
            readers=readers,
            created=node.created_at,
            modified=node.updated_at,
            text=page.text,
        )
        for page in pages.order_by(Page.number)
    ]


_indexes: dict[tuple[str, str], SearchIndex] = {}


def search_index(settings: Settings) -> SearchIndex:
    """This process's handle on the configured index (opened once, reused)."""
    key = (settings.search_backend, str(settings.index_dir))
    if key not in _indexes:
        settings.index_dir.mkdir(parents=True, exist_ok=True)
        _indexes[key] = open_index(settings.search_backend, settings.index_dir)
    return _indexes[key]


def _ready_documents(since: datetime | None = None) -> list[int]:
    query = (
        Node.select(Node.id)
        .join(Document, on=(Document.node == Node.id))
        .where(Document.status == Document.READY)
    )
    if since is not None:
        query = query.where(Node.updated_at >= since)
    return [node.id for node in query.order_by(Node.id)]


def reindex(settings: Settings, since: datetime | None = None, batch: int = 100) -> int:
    """Rebuild the index from the database (all of it, or what changed since ``since``).

    Returns how many documents were written.
    """
    index = search_index(settings)
    if since is None:
        index.clear()
    ids = _ready_documents(since)
    for start in range(0, len(ids), batch):
        index.replace_documents({doc: page_records(doc) for doc in ids[start : start + batch]})
    return len(ids)


@dataclass
class IndexReport:
    missing: list[int] = field(default_factory=list)  # ready, but not in the index
    stale: list[int] = field(default_factory=list)  # indexed from an older version
    extra: list[int] = field(default_factory=list)  # in the index, gone or not ready

    @property
    def ok(self) -> bool:
        return not (self.missing or self.stale or self.extra)

    def __str__(self) -> str:
        return (
            f"{len(self.missing)} missing, {len(self.stale)} stale, {len(self.extra)} extra"
            + ("" if self.ok else f" (missing {self.missing[:10]}, stale {self.stale[:10]}, "
                                  f"extra {self.extra[:10]})")
        )  # fmt: skip


def check_index(settings: Settings, repair: bool = False) -> IndexReport:
    """Compare the index with the database; with ``repair``, fix what differs."""
    index = search_index(settings)
    indexed = index.document_versions()
    expected = {}
    for document_id in _ready_documents():
        version = current_version(document_id)
        if version is not None:
            expected[document_id] = version.id
    report = IndexReport(
        missing=sorted(set(expected) - set(indexed)),
        stale=sorted(d for d in set(expected) & set(indexed) if expected[d] != indexed[d]),
        extra=sorted(set(indexed) - set(expected)),
    )
    if repair:
        for document_id in report.extra:
            index.delete_document(document_id)
        todo = report.missing + report.stale
        if todo:
            index.replace_documents({doc: page_records(doc) for doc in todo})
    return report
