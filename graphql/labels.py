"""Tags and document types as labels with an owner: which group owns one, and which ones may
go on a folder or document (its owner's, see core/permissions.py)."""

from __future__ import annotations

from ariadne import InterfaceType, ObjectType
from graphql import GraphQLResolveInfo

from archivist.core.accounts import groups
from archivist.core.db import run_db
from archivist.core.doctypes import types_for
from archivist.core.errors import NotFound
from archivist.core.ids import global_id
from archivist.core.models import DocumentType, Group, Node, Tag
from archivist.core.tags import tags_for
from archivist.graphql.context import require_viewer
from archivist.graphql.nodes import item_interface

tag_type = ObjectType("Tag")
type_type = ObjectType("DocumentType")
document_type = ObjectType("Document")


async def _owning_group(row: Tag | DocumentType, info: GraphQLResolveInfo) -> Group | None:
    """The group that owns ``row``, if the viewer may see that group (a member, or
    ``group.view``); a share's reader of a group's document learns no group's name."""
    group_id = row.owner_group_id
    if group_id is None:
        return None
    viewer = require_viewer(info)

    def find() -> Group | None:
        try:
            return groups.get_group(viewer, global_id("Group", group_id), "group")
        except NotFound:
            return None

    return await run_db(find)


tag_type.set_field("group", _owning_group)
type_type.set_field("group", _owning_group)


@item_interface.field("availableTags")
async def resolve_available_tags(node: Node, info: GraphQLResolveInfo) -> list[Tag]:
    return await run_db(tags_for, require_viewer(info), node)


@document_type.field("availableDocumentTypes")
async def resolve_available_types(node: Node, info: GraphQLResolveInfo) -> list[DocumentType]:
    return await run_db(types_for, require_viewer(info), node)


bindables: list[ObjectType | InterfaceType] = [tag_type, type_type, document_type]
