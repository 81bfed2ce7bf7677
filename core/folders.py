"""The folder tree: create, rename, move, copy, trash and restore.

Titles are unique among the live children of a folder. Deleting moves a node to its owner's
trash (it leaves the tree, keeping its subtree, and remembers where it was); restoring puts it
back there, or into Home when that folder is gone. Every change that alters what the search
index holds for a document returns the ids of the documents to re-index.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from peewee import IntegrityError, ModelSelect

from archivist.core.db import database, utcnow
from archivist.core.documents import unique_title
from archivist.core.errors import NotFound, UserFacingError
from archivist.core.models import Document, DocumentType, DocumentVersion, Node, NodeTag, Page, Tag
from archivist.core.nodes import get_node, special_folder
from archivist.core.paging import Slice, Window, keyset_page
from archivist.core.permissions import (
    labels_of_owner,
    owned_by,
    readable_by,
    require,
    require_permission,
    same_owner,
)
from archivist.core.processing import copy_pages, current_version
from archivist.core.users import Viewer

MAX_TITLE = 200


def clean_title(title: str, field: str = "title") -> str:
    """A title as stored; raises UserFacingError(INVALID_TITLE) for an empty or odd one."""
    cleaned = " ".join(title.split())
    # Control characters (NUL above all: PostgreSQL cannot store it) have no place in a title.
    odd = any(unicodedata.category(char) == "Cc" for char in cleaned)
    if not cleaned or "/" in cleaned or odd or len(cleaned) > MAX_TITLE:
        raise UserFacingError(
            "INVALID_TITLE",
            f"A title is 1 to {MAX_TITLE} characters long, without '/' or control characters.",
            field,
        )
    return cleaned


def live_folder(viewer: Viewer, folder_id: str | int, field: str, need: str = "node.view") -> Node:
    try:
        folder = get_node(viewer, folder_id)
    except NotFound:
        raise NotFound("folder", field) from None
    require(viewer, folder, need, field)
    if folder.kind != Node.FOLDER:
        raise UserFacingError("NOT_A_FOLDER", "That is a document, not a folder.", field)
    if folder.deleted_at is not None or in_trash(folder):
        raise UserFacingError("IN_TRASH", "That folder is in the trash.", field)
    return folder


def _title_taken(parent_id: int, title: str, exclude: int | None = None) -> bool:
    query = Node.select(Node.id).where((Node.parent == parent_id) & (Node.title == title))
    if exclude is not None:
        query = query.where(Node.id != exclude)
    return query.exists()


def ancestors(node: Node) -> list[Node]:
    """The folders above ``node``, from its root down (empty for a root or a trashed node)."""
    chain: list[Node] = []
    parent_id = node.parent_id
    seen: set[int] = set()
    while parent_id is not None and parent_id not in seen:
        seen.add(parent_id)
        parent = Node.get_or_none(Node.id == parent_id)
        if parent is None:
            break
        chain.append(parent)
        parent_id = parent.parent_id
    return list(reversed(chain))


def in_trash(node: Node) -> bool:
    """Whether the node or a folder above it is in the trash."""
    return node.deleted_at is not None or any(a.deleted_at is not None for a in ancestors(node))


def descendant_ids(node_ids: Iterable[int]) -> set[int]:
    """The given nodes and everything below them."""
    found = set(node_ids)
    frontier = set(found)
    while frontier:
        children = {n.id for n in Node.select(Node.id).where(Node.parent.in_(frontier))}
        frontier = children - found
        found |= frontier
    return found


def documents_among(node_ids: Iterable[int]) -> list[int]:
    ids = list(node_ids)
    if not ids:
        return []
    query = Node.select(Node.id).where(Node.id.in_(ids) & (Node.kind == Node.DOCUMENT))
    return [node.id for node in query]


def create_folder(viewer: Viewer, parent_id: str | None, title: str) -> Node:
    """A new folder in ``parent_id`` (default Home). Raises TITLE_TAKEN, NOT_A_FOLDER, ..."""
    parent = (
        live_folder(viewer, parent_id, "parentId", "node.create")
        if parent_id
        else special_folder(viewer, Node.HOME, "node.create")
    )
    title = clean_title(title)
    try:
        with database.atomic():
            if _title_taken(parent.id, title):
                raise IntegrityError
            node: Node = Node.create(
                kind=Node.FOLDER, title=title, parent=parent.id,
                owner_user=parent.owner_user_id, owner_group=parent.owner_group_id,
            )  # fmt: skip
    except IntegrityError:
        raise _taken(title) from None
    return node


def _taken(title: str) -> UserFacingError:
    return UserFacingError(
        "TITLE_TAKEN", f"There is already something called '{title}' in that folder.", "title"
    )


def rename_node(viewer: Viewer, node_id: str, title: str) -> tuple[Node, list[int]]:
    """Rename; returns the node and the documents whose index entries change."""
    node = get_node(viewer, node_id, need="node.update")
    if node.special:
        raise UserFacingError("SPECIAL_FOLDER", "Home and Inbox keep their names.", "id")
    title = clean_title(title)
    if node.parent_id is not None and _title_taken(node.parent_id, title, exclude=node.id):
        raise _taken(title)
    try:
        Node.update(title=title, updated_at=utcnow()).where(Node.id == node.id).execute()
    except IntegrityError:
        raise _taken(title) from None
    node.title = title
    return node, documents_among(descendant_ids([node.id]))


@dataclass(frozen=True)
class Move:
    """What a move changed: the nodes (now in ``target``) and the folders they left."""

    nodes: list[Node]
    sources: list[Node]
    target: Node


def move_nodes(viewer: Viewer, node_ids: list[str], target_id: str) -> tuple[Move, list[int]]:
    """Move nodes into a folder; a folder into its own subtree is refused (MOVE_INTO_ITSELF).

    Returns the move and the documents whose index entries change."""
    target = live_folder(viewer, target_id, "targetId", "node.create")
    nodes = [get_node(viewer, node_id, "ids", "node.move") for node_id in node_ids]
    above_target = {a.id for a in ancestors(target)} | {target.id}
    for node in nodes:
        if node.special:
            raise UserFacingError("SPECIAL_FOLDER", "Home and Inbox cannot be moved.", "ids")
        if node.id in above_target:
            raise UserFacingError(
                "MOVE_INTO_ITSELF",
                f"'{node.title}' cannot go into itself or a folder inside it.",
                "targetId",
            )
        if (node.owner_user_id, node.owner_group_id) != (
            target.owner_user_id, target.owner_group_id,
        ):  # fmt: skip
            raise UserFacingError(
                "OTHER_OWNER", "Nodes move only within one owner's tree.", "targetId"
            )
    moving = {node.id for node in nodes}
    titles = [node.title for node in nodes]
    for title in titles:
        others = Node.select().where(
            (Node.parent == target.id) & (Node.title == title) & Node.id.not_in(moving)
        )
        if titles.count(title) > 1 or others.exists():
            raise _taken(title)
    with database.atomic():
        Node.update(parent=target.id, updated_at=utcnow()).where(Node.id.in_(moving)).execute()
    moved = [Node.get_by_id(node.id) for node in nodes]
    left = list(dict.fromkeys(node.parent_id for node in nodes if node.parent_id != target.id))
    sources = [Node.get_by_id(folder_id) for folder_id in left if folder_id is not None]
    move = Move(moved, sources, Node.get_by_id(target.id))
    return move, documents_among(descendant_ids(moving))


def copy_document(
    viewer: Viewer, document_id: str, target_id: str | None, title: str | None
) -> Node:
    """A new document with the current version's file and page text (no OCR runs)."""
    source = get_node(viewer, document_id)
    if source.kind != Node.DOCUMENT:
        raise UserFacingError("NOT_A_DOCUMENT", "Only documents can be copied.", "id")
    target = (
        live_folder(viewer, target_id, "targetId", "node.create")
        if target_id
        else Node.get_by_id(source.parent_id)
    )
    require(viewer, target, "node.create", "targetId")
    document = Document.get(Document.node == source.id)
    if document.status == Document.PROCESSING:
        raise UserFacingError("DOCUMENT_PROCESSING", "Wait until the document is processed.")
    version = current_version(source.id)
    assert version is not None
    pages = list(Page.select().where(Page.version == version.id).order_by(Page.number))
    with database.atomic():
        node: Node = Node.create(
            kind=Node.DOCUMENT,
            title=unique_title(target.id, clean_title(title) if title else source.title),
            parent=target.id, owner_user=target.owner_user_id, owner_group=target.owner_group_id,
        )  # fmt: skip
        Document.create(
            node=node, **{f: getattr(document, f) for f in (
                "original_hash", "original_name", "original_type", "original_size",
                "ocr_languages", "ocr_mode", "ocr_engine", "status", "error", "document_type",
            )},
        )  # fmt: skip
        copy = DocumentVersion.create(
            document=node, number=1, file_hash=version.file_hash, base_hash=version.base_hash,
            page_count=version.page_count,
            has_text_layer=version.has_text_layer, finalize_enqueued=True,
            note=f"Copied from '{source.title}'",
        )  # fmt: skip
        copy_pages(pages, copy.id, same_document=False)
        # A node carries only its owner's tags and type (core/permissions.py): a copy for
        # another owner (a share's editor copying into their own folder) gets that owner's
        # tags of the same names, and no type unless it is theirs.
        if not same_owner(node, source):
            Document.update(document_type=None).where(
                (Document.node == node.id)
                & Document.document_type.not_in(
                    DocumentType.select(DocumentType.id).where(labels_of_owner(DocumentType, node))
                )
            ).execute()
        names = Tag.select(Tag.name).join(NodeTag).where(NodeTag.node == source.id)
        tags = [
            {"node": node.id, "tag": tag.id}
            for tag in Tag.select(Tag.id).where(labels_of_owner(Tag, node) & Tag.name.in_(names))
        ]
        if tags:
            NodeTag.insert_many(tags).execute()
    return node


def trash_nodes(viewer: Viewer, node_ids: Sequence[str | int]) -> list[int]:
    """Move nodes to the trash; returns the documents that leave the index."""
    nodes = [get_node(viewer, node_id, "ids", "node.delete") for node_id in node_ids]
    for node in nodes:
        if node.special:
            raise UserFacingError("SPECIAL_FOLDER", "Home and Inbox cannot be deleted.", "ids")
    now = utcnow()
    with database.atomic():
        for node in nodes:
            if node.deleted_at is None:
                Node.update(
                    deleted_at=now, trashed_from=node.parent_id, parent=None, updated_at=now
                ).where(Node.id == node.id).execute()
    return documents_among(descendant_ids(node.id for node in nodes))


def restore_nodes(viewer: Viewer, node_ids: list[str]) -> tuple[list[Node], list[int]]:
    """Put trashed nodes back where they were (or into Home); returns them and documents."""
    home = special_folder(viewer, Node.HOME)
    restored = []
    with database.atomic():
        for node_id in node_ids:
            node = get_node(viewer, node_id, "ids", "node.delete")
            if node.deleted_at is None:
                raise UserFacingError("NOT_IN_TRASH", f"'{node.title}' is not in the trash.", "ids")
            parent = Node.get_or_none(
                (Node.id == node.trashed_from) & Node.deleted_at.is_null() & readable_by(viewer)
            )
            if parent is None or in_trash(parent):
                parent = home
            title = unique_title(parent.id, node.title)
            Node.update(
                parent=parent.id, title=title, deleted_at=None, trashed_from=None,
                updated_at=utcnow(),
            ).where(Node.id == node.id).execute()  # fmt: skip
            restored.append(Node.get_by_id(node.id))
    return restored, documents_among(descendant_ids(n.id for n in restored))


def _trashed(viewer: Viewer) -> ModelSelect[Node]:
    # The trash holds the viewer's own and their groups' nodes: what someone deleted in a
    # folder shared with them goes to the owner's trash, not to theirs.
    return Node.select().where(
        readable_by(viewer) & owned_by(viewer) & Node.deleted_at.is_null(False)
    )


def trash_items(viewer: Viewer) -> list[Node]:
    """Everything in the viewer's trash, newest first."""
    return list(_trashed(viewer).order_by(Node.deleted_at.desc(), Node.id))


def trash_page(viewer: Viewer, window: Window) -> tuple[Slice, int]:
    """One page of the viewer's trash, newest first, and how much it holds in all."""
    query = _trashed(viewer)
    return keyset_page(query, [(Node.deleted_at, True), (Node.id, False)], window), query.count()


def empty_trash(viewer: Viewer) -> list[int]:
    """Delete for good everything in the viewer's trash; returns the documents removed."""
    require_permission(viewer, "node.delete")  # the trash holds only the viewer's own
    roots = [node.id for node in trash_items(viewer)]
    gone = descendant_ids(roots)
    documents = documents_among(gone)
    # The foreign keys cascade: a node's subtree, versions, pages, tags and values go with it.
    # Stored files stay: they are content-addressed and may be shared with other documents.
    Node.delete().where(Node.id.in_(roots or [0])).execute()
    return documents
