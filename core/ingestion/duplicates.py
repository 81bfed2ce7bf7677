"""Duplicates: the same content uploaded again is refused with the document that holds it.

Scope: the documents of the *owner of the target folder* (you, or the group whose folder you
upload into), outside the trash. Everyone who may upload into a folder may read all of its
owner's documents (see :mod:`archivist.core.permissions`), so the refusal never reveals a
document the uploader could not see; another user holding the same file is never mentioned.
"Same content" is the SHA-256 of the file as uploaded (``Document.original_hash``).
"""

from __future__ import annotations

from archivist.core.errors import UserFacingError
from archivist.core.ids import global_id
from archivist.core.models import Document, Node
from archivist.core.permissions import readable_by
from archivist.core.users import Viewer

DUPLICATE = "DUPLICATE"


class DuplicateDocument(UserFacingError):
    """The file is already a document of the same owner; ``existing_id`` is that document."""

    def __init__(self, existing: Node) -> None:
        super().__init__(
            DUPLICATE,
            f"This file is already document {global_id('Document', existing.id)} "
            f"({existing.title!r}). "
            "Upload it with allowDuplicate to keep both.",
            "file",
        )
        self.existing_id: int = existing.id


def _in_trash(node: Node) -> bool:
    """Whether the node or a folder above it is in the trash (a trashed subtree keeps its
    parents; only its root is marked)."""
    seen: set[int] = set()
    current: Node | None = node
    while current is not None and current.id not in seen:
        if current.deleted_at is not None:
            return True
        seen.add(current.id)
        parent_id = current.parent_id
        current = None if parent_id is None else Node.get_or_none(Node.id == parent_id)
    return False


def find_duplicate(folder: Node, original_hash: str, viewer: Viewer | None = None) -> Node | None:
    """The oldest live document of ``folder``'s owner whose original has this hash, if any;
    with ``viewer``, only one they may see (someone uploading into a folder shared with them
    learns nothing of the owner's other documents)."""
    owner = (
        Node.owner_user == folder.owner_user_id
        if folder.owner_user_id is not None
        else Node.owner_group == folder.owner_group_id
    )
    candidates = (
        Node.select()
        .join(Document, on=(Document.node == Node.id))
        .where((Document.original_hash == original_hash) & owner & (Node.kind == Node.DOCUMENT))
        .order_by(Node.id)
    )
    if viewer is not None:
        candidates = candidates.where(readable_by(viewer))
    for node in candidates:
        if not _in_trash(node):
            found: Node = node
            return found
    return None
