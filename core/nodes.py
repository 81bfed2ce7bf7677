"""Folders and documents in one tree: lookups that respect permissions."""

from __future__ import annotations

from archivist.core.errors import NotFound
from archivist.core.ids import MAX_ID, NODE_TYPES, TYPES, decode_id
from archivist.core.models import Node
from archivist.core.permissions import readable_by, require
from archivist.core.users import Viewer

# The API type of each kind of node.
GRAPHQL_TYPES = {Node.FOLDER: "Folder", Node.DOCUMENT: "Document"}


def parse_id(value: str | int, field: str = "id", types: tuple[str, ...] = NODE_TYPES) -> int:
    """The row id of an API id (see :mod:`archivist.core.ids`) of one of ``types``.

    An ``int`` is a row id the server itself holds (a path parameter, a column) and is only
    checked for range. Raises NotFound for anything that is not such an id.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 < value <= MAX_ID:
            raise NotFound(TYPES.get(types[0], "node"), field)
        return value
    return decode_id(value, types, field)[1]


def get_node(
    viewer: Viewer, node_id: str | int, field: str = "id", need: str = "node.view"
) -> Node:
    """The node ``viewer`` asked for, to do ``need`` (a permission) with it.

    Raises NotFound (naming ``field``) when it is missing, neither theirs nor shared with
    them, or the id says Folder for a document (or Document for a folder); PERMISSION_DENIED
    when they may see it but their role (or the share's) does not allow ``need``."""
    if isinstance(node_id, str):
        type_name, row_id = decode_id(node_id, NODE_TYPES, field)
    else:
        type_name, row_id = None, parse_id(node_id, field)
    node = Node.select().where((Node.id == row_id) & readable_by(viewer)).first()
    if node is None or (type_name is not None and GRAPHQL_TYPES[node.kind] != type_name):
        raise NotFound(field=field)
    if need != "node.view":
        require(viewer, node, need, field)
    return node


def special_folder(viewer: Viewer, special: str, need: str | None = None) -> Node:
    """The viewer's Home or Inbox folder; with ``need``, raises PERMISSION_DENIED unless their
    roles allow that there."""
    node: Node = Node.get((Node.owner_user == viewer.id) & (Node.special == special))
    if need is not None:
        require(viewer, node, need, None)
    return node
