"""Handing what a user or a group owns to another user or group (when the account or the
group is deleted): folders, documents and the trash change owner; what was in the old
Home and Inbox lands in a new folder in the recipient's Home. Tags and document types go
with them (a node carries only its owner's): a tag joins the recipient's tag of the same
name, a type whose name the recipient has is renamed "<name> (from <old owner>)"."""

from __future__ import annotations

from peewee import Expression, ModelBase

from archivist.core.documents import unique_title
from archivist.core.errors import UserFacingError
from archivist.core.index_state import mark_for_index
from archivist.core.models import DocumentType, Node, NodeTag, Tag


def owner_clause(user_id: int | None, group_id: int | None, model: ModelBase = Node) -> Expression:
    """A WHERE clause over ``model`` (Node, Tag or DocumentType): what the owner owns."""
    if user_id is not None:
        return model.owner_user == user_id  # type: ignore[attr-defined]
    return model.owner_group == group_id  # type: ignore[attr-defined]


def _hand_over_tags(old: tuple[int | None, int | None], new: tuple[int | None, int | None]) -> None:
    new_user, new_group = new
    for tag in Tag.select().where(owner_clause(*old, Tag)):
        same = Tag.get_or_none(owner_clause(*new, Tag) & (Tag.name == tag.name))
        if same is None:
            Tag.update(owner_user=new_user, owner_group=new_group).where(Tag.id == tag.id).execute()
            continue
        carried = [
            row.node_id for row in NodeTag.select(NodeTag.node).where(NodeTag.tag == same.id)
        ]
        NodeTag.update(tag=same.id).where(
            (NodeTag.tag == tag.id) & NodeTag.node.not_in(carried or [0])
        ).execute()
        tag.delete_instance(recursive=False)  # what still carries it carries ``same`` too


def _hand_over_types(
    old: tuple[int | None, int | None], new: tuple[int | None, int | None], label: str
) -> None:
    new_user, new_group = new
    for row in DocumentType.select().where(owner_clause(*old, DocumentType)):
        name, number = row.name, 1
        # Asked of the database: its collation decides what counts as the same name.
        while (
            DocumentType.select()
            .where(owner_clause(*new, DocumentType) & (DocumentType.name == name))
            .exists()
        ):
            suffix = f" (from {label})" if number == 1 else f" (from {label} {number})"
            name, number = row.name[: 100 - len(suffix)] + suffix, number + 1
        DocumentType.update(name=name, owner_user=new_user, owner_group=new_group).where(
            DocumentType.id == row.id
        ).execute()


def hand_over(
    old: tuple[int | None, int | None], new: tuple[int | None, int | None], label: str
) -> Node | None:
    """Give every node of ``old`` (user id, group id) to ``new``; returns the folder in the
    new owner's Home that holds the old Home's and Inbox's contents (None when there was
    nothing). Call it in the transaction that deletes the old owner."""
    if old == new:
        raise UserFacingError("SAME_OWNER", "Hand the documents to someone else.", "handTo")
    _hand_over_tags(old, new)
    _hand_over_types(old, new, label)
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
