"""Object identification: global ids, the ``Node`` interface and ``node(id)``; the ``Item``
interface of folders and documents.

Every type with an ``id`` gives out its global id (:mod:`archivist.core.ids`), and
``node(id)`` finds any of them again, as the access module allows; what the viewer may not
see, a wrong type's id and one that names nothing all come back as null.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ariadne import InterfaceType, ObjectType, QueryType
from graphql import GraphQLObjectType, GraphQLResolveInfo, GraphQLSchema

from archivist.core.accounts import audit, groups, people, roles, shares
from archivist.core.db import run_db
from archivist.core.doctypes import get_type
from archivist.core.errors import UserFacingError
from archivist.core.ids import TYPES, decode_id, global_id
from archivist.core.listing import visible_field
from archivist.core.models import (
    AccessToken,
    AuditEntry,
    CustomField,
    DocumentType,
    DocumentVersion,
    Group,
    Node,
    Page,
    Role,
    Share,
    Tag,
    User,
)
from archivist.core.nodes import GRAPHQL_TYPES, get_node
from archivist.core.processing import current_version
from archivist.core.tags import get_tag
from archivist.core.users import Viewer
from archivist.graphql.context import require_viewer
from archivist.graphql.plain_fields import SourceResolver, SourceTypeResolver

query = QueryType()
node_interface = InterfaceType("Node")
item_interface = InterfaceType("Item")  # its fields: see archivist.graphql.organise
folder_type = ObjectType("Folder")

MODEL_TYPES: dict[type, str] = {
    User: "User",
    DocumentVersion: "DocumentVersion",
    Page: "Page",
    Tag: "Tag",
    DocumentType: "DocumentType",
    CustomField: "CustomField",
    Group: "Group",
    Role: "Role",
    Share: "Share",
    AccessToken: "AccessToken",
    AuditEntry: "AuditEntry",
}
# Fields, besides each type's own ``id``, that hold the global id of another type.
ID_FIELDS: dict[tuple[str, str], str] = {("ProgressEvent", "documentId"): "Document"}


def type_name(value: Any) -> str | None:
    """The API type of a model object."""
    if isinstance(value, Node):
        return GRAPHQL_TYPES[value.kind]
    return MODEL_TYPES.get(type(value))


# A function of the value alone: the plain way completes a listing's items without a resolve info.
resolve_node_type = SourceTypeResolver(type_name)
node_interface.set_type_resolver(resolve_node_type)
item_interface.set_type_resolver(resolve_node_type)


# Types whose ``id`` is not their row's: a page's is its identity across versions.
ID_ATTRIBUTES: dict[str, str] = {"Page": "logical"}


def _row_id(parent: Any, attribute: str) -> int:
    value = parent[attribute] if isinstance(parent, dict) else getattr(parent, attribute)
    return int(value)


def _id_resolver(type_name: str, attribute: str) -> SourceResolver:
    def read(parent: Any) -> str:
        return global_id(type_name, _row_id(parent, attribute))

    return SourceResolver(read)  # a pure function of the row: read as a plain field


def bind_global_ids(schema: GraphQLSchema) -> None:
    """Make every ``id`` (and :data:`ID_FIELDS`) answer with global ids."""
    fields = [(name, "id", name) for name in TYPES]
    fields += [(owner, field, name) for (owner, field), name in ID_FIELDS.items()]
    for owner, field, name in fields:
        object_type = schema.type_map[owner]
        assert isinstance(object_type, GraphQLObjectType), owner
        attribute = "".join("_" + c.lower() if c.isupper() else c for c in field)
        if field == "id":
            attribute = ID_ATTRIBUTES.get(owner, attribute)
        object_type.fields[field].resolve = _id_resolver(name, attribute)


def _version(viewer: Viewer, row_id: int) -> DocumentVersion | None:
    version = DocumentVersion.get_or_none(DocumentVersion.id == row_id)
    if version is not None:
        get_node(viewer, version.document_id)  # NotFound when the document is not theirs
    return version


def _page(viewer: Viewer, logical_id: int) -> Page | None:
    """The page with this identity in its document's current version (None once deleted)."""
    first = Page.get_or_none(Page.id == logical_id)
    if first is None:
        return None
    version = _version(viewer, first.version_id)
    assert version is not None
    current = current_version(version.document_id)
    return (
        Page.select()
        .where(
            (Page.version == current.id)
            & ((Page.logical_id == logical_id) | (Page.id == logical_id))
        )
        .first()
        if current is not None
        else None
    )


# How each type is found for a viewer: None or NotFound when they may not see it.
FINDERS: dict[str, Callable[[Viewer, int, str], Any]] = {
    "User": lambda viewer, _, node_id: people.get_user(viewer, node_id),
    "Folder": lambda viewer, _, node_id: get_node(viewer, node_id),
    "Document": lambda viewer, _, node_id: get_node(viewer, node_id),
    "DocumentVersion": lambda viewer, row_id, _: _version(viewer, row_id),
    "Page": lambda viewer, row_id, _: _page(viewer, row_id),
    "Tag": lambda viewer, row_id, _: get_tag(viewer, row_id, changing=False),
    "DocumentType": lambda viewer, row_id, _: get_type(viewer, row_id, changing=False),
    "CustomField": lambda viewer, row_id, _: visible_field(viewer, row_id, "id"),
    "Group": lambda viewer, _, node_id: groups.get_group(viewer, node_id),
    "Role": lambda viewer, _, node_id: roles.get_role(node_id, "id"),
    "Share": lambda viewer, row_id, _: shares.visible_share(viewer, row_id),
    "AccessToken": lambda viewer, row_id, _: AccessToken.get_or_none(
        (AccessToken.id == row_id) & (AccessToken.user == viewer.id)
    ),
    "AuditEntry": lambda viewer, row_id, _: (
        audit.entries(viewer).where(AuditEntry.id == row_id).first()
    ),
}


def find(viewer: Viewer, node_id: str) -> Any:
    """What ``node_id`` names, if the viewer may see it; None otherwise."""
    try:
        type_name, row_id = decode_id(node_id, tuple(TYPES))
        return FINDERS[type_name](viewer, row_id, node_id)
    except UserFacingError:  # NotFound, or UNKNOWN_FIELD for a custom field
        return None


@query.field("node")
async def resolve_node(_: Any, info: GraphQLResolveInfo, id: str) -> Any:
    return await run_db(find, require_viewer(info), id)


@query.field("document")
async def resolve_document(_: Any, info: GraphQLResolveInfo, id: str) -> Node | None:
    found = await resolve_node(_, info, id)
    return found if isinstance(found, Node) and found.kind == Node.DOCUMENT else None


@folder_type.field("special")
def resolve_special(node: Node, *_: Any) -> str | None:
    return node.special.upper() if node.special else None


bindables = [query, node_interface, item_interface, folder_type]
