"""What a search box completes besides words: the names of tags, folders and document types
the viewer may see, and the facet objects of a search (see ``archivist.graphql.search``).

A viewer sees a tag or document type that is their own or their groups' (as their role allows:
``tag.view``, ``document_type.view``) or that is on a document they may read (see
:func:`seen_labels`); a folder they may read (:func:`readable_by`). Nothing else is
named, so a name typed into the box never tells whether someone else has such a thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from peewee import fn

from archivist.core.db import select_cached
from archivist.core.models import Document, DocumentType, Node, Tag
from archivist.core.permissions import readable_by, seen_labels
from archivist.core.users import Viewer

R = TypeVar("R")
L = TypeVar("L", Tag, DocumentType)

# Longest prefix taken (a name is at most 100 characters; a title 255).
MAX_PREFIX = 255


@dataclass(frozen=True)
class NamedSuggestion:
    """A tag, folder or document type whose name starts with what was typed."""

    kind: str  # "TAG", "FOLDER" or "DOCUMENT_TYPE"
    type_name: str  # its API type: "Tag", "Folder", "DocumentType"
    row_id: int
    text: str


def named_suggestions(viewer: Viewer, prefix: str, limit: int) -> list[NamedSuggestion]:
    """Tags, document types and folders the viewer may see whose names start with ``prefix``
    (case-insensitive; each kind A to Z, at most ``limit`` of each, one per name)."""
    typed = prefix.strip()[:MAX_PREFIX]
    if not typed:
        return []
    found = [
        NamedSuggestion("TAG", "Tag", tag.id, tag.name)
        for tag in _unique(_own_first(viewer, select_cached(_tags, typed, viewer, limit)), limit)
    ]
    found += [
        NamedSuggestion("DOCUMENT_TYPE", "DocumentType", row.id, row.name)
        for row in _unique(_own_first(viewer, select_cached(_types, typed, viewer, limit)), limit)
    ]
    folders = select_cached(_folders, typed, viewer, limit)
    found += [
        NamedSuggestion("FOLDER", "Folder", folder.id, folder.title)
        for folder in _unique(folders, limit, name="title")
    ]
    return found


def _own_first(viewer: Viewer, rows: list[L]) -> list[L]:
    return sorted(rows, key=lambda row: row.owner_user_id != viewer.id)  # stable: A to Z


def _folders(typed: str, viewer: Viewer, limit: int) -> Any:
    """Folders named ``typed``... that the viewer may read (a select; see select_cached)."""
    return (
        Node.select(Node.id, Node.title)
        .where(
            (Node.kind == Node.FOLDER)
            & Node.deleted_at.is_null()
            & Node.title.startswith(typed)
            & readable_by(viewer)
        )
        .order_by(Node.title, Node.id)
        .limit(limit * 4)
    )


def _unique(rows: list[R], limit: int, name: str = "name") -> list[R]:
    """The first row of each name, at most ``limit`` names (rows come own first, then A to Z)."""
    seen: dict[str, R] = {}
    for row in rows:
        seen.setdefault(str(getattr(row, name)), row)
    ordered = sorted(seen.items(), key=lambda item: (item[0].casefold(), item[0]))
    return [row for _, row in ordered[:limit]]


def _tags(typed: str, viewer: Viewer, limit: int) -> Any:
    """Tags named ``typed``... that the viewer may see (a select; see select_cached)."""
    # seen_labels takes EXISTS, not a join: one row per tag, not one per tagged document.
    rows = Tag.select().where(Tag.name.startswith(typed) & seen_labels(viewer, Tag))
    return rows.order_by(Tag.name, Tag.id).limit(limit * 4)


def _types(typed: str, viewer: Viewer, limit: int) -> Any:
    """Document types named ``typed``... that the viewer may see (a select)."""
    visible = seen_labels(viewer, DocumentType)
    rows = DocumentType.select().where(DocumentType.name.startswith(typed) & visible)
    return rows.order_by(DocumentType.name, DocumentType.id).limit(limit * 4)


def _readable_of_type(viewer: Viewer) -> Any:
    return (
        Document.select(Document.node)
        .join(Node, on=(Document.node == Node.id))
        .where((Document.document_type == DocumentType.id) & readable_by(viewer))
    )


def facet_types(viewer: Viewer, names: list[str]) -> dict[str, DocumentType]:
    """The document type objects of facet names: the viewer's own type of each name, else one
    of that name on a document the viewer may read."""
    if not names:
        return {}
    found = {
        row.name: row
        for row in DocumentType.select().where(
            (DocumentType.owner_user == viewer.id) & DocumentType.name.in_(names)
        )
    }
    missing = [name for name in names if name not in found]
    if missing:
        others = (
            DocumentType.select()
            .where(DocumentType.name.in_(missing) & fn.EXISTS(_readable_of_type(viewer)))
            .order_by(DocumentType.id)
        )
        for row in others:
            found.setdefault(row.name, row)
    return found
