"""Tags: coloured labels a user or a group puts on its folders and documents (many at once).

A tag belongs to a user or a group; members list and change a group's tags as their roles
allow. A folder or document carries only its owner's tags (see core/permissions.py): whoever
may change it (an owner, a member, an editor of a share) puts on the owner's tags.
"""

from __future__ import annotations

import re

from peewee import IntegrityError

from archivist.core.db import database
from archivist.core.errors import NotFound, UserFacingError
from archivist.core.folders import documents_among
from archivist.core.models import Node, NodeTag, Tag
from archivist.core.nodes import get_node, parse_id
from archivist.core.permissions import (
    label_owner,
    labels_of_owner,
    owned_labels,
    permissions_on,
    require_fits,
    require_permission,
    seen_labels,
)
from archivist.core.users import Viewer

COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > 100:
        raise UserFacingError("INVALID_NAME", "A tag name is 1 to 100 characters long.", "name")
    return cleaned


def _color(color: str | None) -> str:
    if color is None:
        return "#888888"
    if not COLOR.match(color):
        raise UserFacingError("INVALID_COLOR", "A colour looks like #1a2b3c.", "color")
    return color.lower()


def get_tag(viewer: Viewer, tag_id: str | int, field: str = "id", *, changing: bool = True) -> Tag:
    """One of the viewer's tags or their groups'; with ``changing`` False (only reading it),
    any the viewer may see (:func:`seen_labels`: also one on a document they may read).
    Raises NotFound for any other."""
    visible = owned_labels if changing else seen_labels
    tag = Tag.get_or_none((Tag.id == parse_id(tag_id, field, ("Tag",))) & visible(viewer, Tag))
    if tag is None:
        raise NotFound("tag", field)
    return tag


def _taken(tag: Tag | dict[str, int | None], name: str) -> UserFacingError:
    group = tag.owner_group_id if isinstance(tag, Tag) else tag["owner_group"]
    whose = "The group already has" if group is not None else "You already have"
    return UserFacingError("TAG_EXISTS", f"{whose} a tag called '{name}'.", "name")


def create_tag(
    viewer: Viewer, name: str, color: str | None = None, group_id: str | None = None
) -> Tag:
    """A tag of the viewer's, or of their group ``group_id`` (``tag.create`` either way)."""
    user, group = label_owner(viewer, group_id, "tag.create")
    owner = {"owner_user": user, "owner_group": group}
    name = _name(name)
    try:
        with database.atomic():
            tag: Tag = Tag.create(name=name, color=_color(color), **owner)
    except IntegrityError:
        raise _taken(owner, name) from None
    return tag


def tagged_documents(tag_id: int) -> list[int]:
    return documents_among(nt.node_id for nt in NodeTag.select().where(NodeTag.tag == tag_id))


def update_tag(
    viewer: Viewer, tag_id: str, name: str | None, color: str | None
) -> tuple[Tag, list[int]]:
    """Rename or recolour; returns the tag and the documents to re-index (on rename)."""
    require_permission(viewer, "tag.update")
    tag = get_tag(viewer, tag_id)
    changes = {}
    if name is not None:
        changes["name"] = _name(name)
    if color is not None:
        changes["color"] = _color(color)
    try:
        with database.atomic():
            Tag.update(**changes).where(Tag.id == tag.id).execute()
    except IntegrityError:
        raise _taken(tag, changes["name"]) from None
    return Tag.get_by_id(tag.id), tagged_documents(tag.id) if "name" in changes else []


def delete_tag(viewer: Viewer, tag_id: str) -> tuple[tuple[int, list[Node]], list[int]]:
    """Delete a tag; returns its row id and the folders and documents that carried it (as
    they are now, without it), and the documents to re-index."""
    require_permission(viewer, "tag.delete")
    tag = get_tag(viewer, tag_id)
    carriers = NodeTag.select(NodeTag.node).where(NodeTag.tag == tag.id)
    nodes = list(Node.select().where(Node.id.in_(carriers)).order_by(Node.id))
    documents = tagged_documents(tag.id)
    tag.delete_instance(recursive=False)
    return (tag.id, nodes), documents


def _targets(
    viewer: Viewer, node_ids: list[str], tag_ids: list[str]
) -> tuple[list[Node], list[Tag]]:
    """The nodes (``node.update`` on each) and the tags: the viewer's and their groups', and
    those of the nodes' owners (an editor of a share uses the owner's tags). Each tag must
    belong to each node's owner (OWNER_MISMATCH)."""
    nodes = [get_node(viewer, node_id, "nodeIds", "node.update") for node_id in node_ids]
    tags = [
        require_fits(viewer, nodes, Tag.get_or_none(Tag.id == parse_id(t, "tagIds", ("Tag",))),
                     "tag", "tagIds")
        for t in tag_ids
    ]  # fmt: skip
    return nodes, tags


def tag_nodes(
    viewer: Viewer, node_ids: list[str], tag_ids: list[str]
) -> tuple[list[Node], list[int]]:
    """Add tags to nodes (already there is fine); returns the nodes and documents to re-index."""
    nodes, tags = _targets(viewer, node_ids, tag_ids)
    rows = [{"node": n.id, "tag": t.id} for n in nodes for t in tags]
    with database.atomic():
        existing = {
            (nt.node_id, nt.tag_id)
            for nt in NodeTag.select().where(NodeTag.node.in_([n.id for n in nodes] or [0]))
        }
        new = [row for row in rows if (row["node"], row["tag"]) not in existing]
        if new:
            NodeTag.insert_many(new).execute()
    return nodes, documents_among(n.id for n in nodes)


def untag_nodes(
    viewer: Viewer, node_ids: list[str], tag_ids: list[str]
) -> tuple[list[Node], list[int]]:
    nodes, tags = _targets(viewer, node_ids, tag_ids)
    NodeTag.delete().where(
        NodeTag.node.in_([n.id for n in nodes] or [0])
        & NodeTag.tag.in_([t.id for t in tags] or [0])
    ).execute()
    return nodes, documents_among(n.id for n in nodes)


def tags_of(viewer: Viewer, group_id: str | None = None) -> list[Tag]:
    """The viewer's tags, or their group ``group_id``'s, by name (``tag.view``)."""
    user, group = label_owner(viewer, group_id, "tag.view")
    owner = Tag.owner_user == user if group is None else Tag.owner_group == group
    return list(Tag.select().where(owner).order_by(Tag.name))


def tags_for(viewer: Viewer, node: Node) -> list[Tag]:
    """The tags that may go on ``node`` (its owner's), by name; none unless the viewer may
    change it (``node.update``)."""
    if "node.update" not in permissions_on(viewer, node):
        return []
    return list(Tag.select().where(labels_of_owner(Tag, node)).order_by(Tag.name))
