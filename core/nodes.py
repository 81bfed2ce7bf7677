"""Folders and documents in one tree: lookups that respect permissions."""

from __future__ import annotations

from archivist.core.errors import NotFound
from archivist.core.models import Node
from archivist.core.permissions import readable_by
from archivist.core.users import Viewer


def parse_id(value: str | int, field: str = "id") -> int:
    """An ID from the API as an int; raises NotFound for anything that is not one."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise NotFound(field=field) from None
    if number <= 0:
        raise NotFound(field=field)
    return number


def get_node(viewer: Viewer, node_id: str | int) -> Node:
    """The node ``viewer`` asked for; raises NotFound when it is missing or not theirs."""
    node = Node.select().where((Node.id == parse_id(node_id)) & readable_by(viewer)).first()
    if node is None:
        raise NotFound()
    return node


def special_folder(viewer: Viewer, special: str) -> Node:
    """The viewer's Home or Inbox folder."""
    node: Node = Node.get((Node.owner_user == viewer.id) & (Node.special == special))
    return node
