"""Handing what a user or a group owns to another user or group (when the account or the
group is deleted): folders, documents and the trash change owner; what was in the old
Home and Inbox lands in a new folder in the recipient's Home."""

from __future__ import annotations

from peewee import Expression

from archivist.core.documents import unique_title
from archivist.core.errors import UserFacingError
from archivist.core.index_state import mark_for_index
from archivist.core.models import Node


def owner_clause(user_id: int | None, group_id: int | None) -> Expression:
    if user_id is not None:
        return Node.owner_user == user_id
    return Node.owner_group == group_id


def hand_over(
    old: tuple[int | None, int | None], new: tuple[int | None, int | None], label: str
) -> Node | None:
    """Give every node of ``old`` (user id, group id) to ``new``; returns the folder in the
    new owner's Home that holds the old Home's and Inbox's contents (None when there was
    nothing). Call it in the transaction that deletes the old owner."""
    if old == new:
        raise UserFacingError("SAME_OWNER", "Hand the documents to someone else.", "handTo")
    new_user, new_group = new
    home = Node.get(owner_clause(new_user, new_group) & (Node.special == Node.HOME))
    specials = {
        node.special: node
        for node in Node.select().where(owner_clause(*old) & Node.special.is_null(False))
    }
    owned = owner_clause(*old) & Node.special.is_null()
    documents = [n.id for n in Node.select(Node.id).where(owned & (Node.kind == Node.DOCUMENT))]
    if not Node.select().where(owned).exists():
        return None
    folder: Node = Node.create(
        kind=Node.FOLDER, title=unique_title(home.id, f"From {label}"), parent=home.id,
        owner_user=new_user, owner_group=new_group,
    )  # fmt: skip
    Node.update(owner_user=new_user, owner_group=new_group).where(owned).execute()
    if Node.HOME in specials:
        Node.update(parent=folder.id).where(Node.parent == specials[Node.HOME].id).execute()
    if (
        Node.INBOX in specials
        and Node.select().where(Node.parent == specials[Node.INBOX].id).exists()
    ):
        inbox: Node = Node.create(
            kind=Node.FOLDER, title=unique_title(folder.id, "Inbox"), parent=folder.id,
            owner_user=new_user, owner_group=new_group,
        )  # fmt: skip
        Node.update(parent=inbox.id).where(Node.parent == specials[Node.INBOX].id).execute()
    mark_for_index(documents)
    return folder
