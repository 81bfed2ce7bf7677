"""Folders and documents: the Node interface and ``node(id)``."""

from __future__ import annotations

from typing import Any

from ariadne import InterfaceType, ObjectType, QueryType
from graphql import GraphQLResolveInfo

from archivist.core.db import run_db
from archivist.core.errors import NotFound
from archivist.core.models import Node
from archivist.core.nodes import get_node
from archivist.graphql.context import require_viewer

query = QueryType()
node_interface = InterfaceType("Node")  # its fields: see archivist.graphql.organise
folder_type = ObjectType("Folder")

GRAPHQL_TYPE = {Node.FOLDER: "Folder", Node.DOCUMENT: "Document"}


@node_interface.type_resolver
def resolve_node_type(node: Node, *_: Any) -> str:
    return GRAPHQL_TYPE[node.kind]


@query.field("node")
async def resolve_node(_: Any, info: GraphQLResolveInfo, id: str) -> Node | None:
    try:
        node: Node = await run_db(get_node, require_viewer(info), id)
    except NotFound:
        return None
    return node


@query.field("document")
async def resolve_document(_: Any, info: GraphQLResolveInfo, id: str) -> Node | None:
    node = await resolve_node(_, info, id)
    return node if node is not None and node.kind == Node.DOCUMENT else None


@folder_type.field("special")
def resolve_special(node: Node, *_: Any) -> str | None:
    return node.special.upper() if node.special else None


bindables = [query, node_interface, folder_type]
