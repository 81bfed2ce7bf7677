"""Accounts, groups, roles, shares, tokens and the audit log in the API.

Every decision is the access module's (core/permissions.py), reached through the services in
core/accounts; these resolvers only translate. The services write the audit log.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ariadne import MutationType, ObjectType, QueryType
from graphql import GraphQLResolveInfo

from archivist.core.accounts import audit, groups, people, roles, shares
from archivist.core.db import database, run_db
from archivist.core.errors import UserFacingError
from archivist.core.ids import global_id
from archivist.core.models import (
    AccessToken,
    AuditEntry,
    Group,
    Membership,
    Node,
    Role,
    Share,
    User,
)
from archivist.core.nodes import special_folder
from archivist.core.permissions import PERMISSIONS, can_read, require_permission
from archivist.core.users import Viewer, viewer_for
from archivist.graphql.connections import connection, window
from archivist.graphql.context import require_viewer
from archivist.graphql.organise import reindex_later
from archivist.graphql.payloads import ok, user_errors

query = QueryType()
mutation = MutationType()
user_type = ObjectType("User")
group_type = ObjectType("Group")
role_type = ObjectType("Role")
share_type = ObjectType("Share")
token_type = ObjectType("AccessToken")
audit_type = ObjectType("AuditEntry")
folder_type = ObjectType("Folder")
document_type = ObjectType("Document")


async def _call(
    info: GraphQLResolveInfo, service: Callable[..., Any], *args: Any, key: str
) -> dict[str, Any]:
    """Run ``service(viewer, *args)`` in one transaction; its refusals become the payload's
    errors, its result the payload's ``key``."""
    viewer = require_viewer(info)

    def run() -> Any:
        with database.atomic():
            return service(viewer, *args)

    try:
        result = await run_db(run)
    except UserFacingError as error:
        return user_errors(error)
    return ok(**{key: result})


def _roles(role_ids: list[str] | None) -> list[Role] | None:
    return (
        None if role_ids is None else [roles.get_role(role_id, "roleIds") for role_id in role_ids]
    )


# Queries


@query.field("permissions")
def resolve_permissions(_: Any, info: GraphQLResolveInfo) -> list[dict[str, str]]:
    require_viewer(info)
    return [{"name": name, "description": text} for name, text in PERMISSIONS.items()]


@query.field("roles")
async def resolve_roles(_: Any, info: GraphQLResolveInfo) -> list[Role]:
    require_viewer(info)
    return await run_db(lambda: list(Role.select().order_by(Role.name)))


@query.field("users")
async def resolve_users(_: Any, info: GraphQLResolveInfo) -> list[User]:
    viewer = require_viewer(info)
    return await run_db(people.all_users, viewer)


@query.field("groups")
async def resolve_groups(_: Any, info: GraphQLResolveInfo) -> list[Group]:
    viewer = require_viewer(info)
    return await run_db(groups.visible_groups, viewer)


@query.field("sharedWithMe")
async def resolve_shared_with_me(_: Any, info: GraphQLResolveInfo) -> list[Node]:
    viewer = require_viewer(info)
    return await run_db(shares.shared_with_me, viewer)


@query.field("myTokens")
async def resolve_my_tokens(_: Any, info: GraphQLResolveInfo) -> list[AccessToken]:
    viewer = require_viewer(info)
    return await run_db(people.own_tokens, viewer)


@query.field("auditLog")
async def resolve_audit_log(
    _: Any,
    info: GraphQLResolveInfo,
    node_id: str | None = None,
    user_id: str | None = None,
    since: Any = None,
    until: Any = None,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
) -> dict[str, Any]:
    viewer = require_viewer(info)
    asked = window(
        "Query", "auditLog", "audit", (int,), first=first, after=after, last=last, before=before
    )

    def load() -> dict[str, Any]:
        page, total = audit.entries_page(
            viewer, asked, node_id=node_id, user_id=user_id, since=since, until=until
        )
        return connection(page, total, "audit")

    return await run_db(load)


# Accounts


@mutation.field("createUser")
async def resolve_create_user(
    _: Any, info: GraphQLResolveInfo, username: str, password: str,
    email: str | None = None, role_ids: list[str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    def create(viewer: Viewer) -> User:
        return people.add_user(viewer, username, password, email, _roles(role_ids))

    return await _call(info, create, key="user")


@mutation.field("updateUser")
async def resolve_update_user(
    _: Any, info: GraphQLResolveInfo, id: str, username: str | None = None,
    email: str | None = None, is_active: bool | None = None,
) -> dict[str, Any]:  # fmt: skip
    return await _call(info, people.update_user, id, username, email, is_active, key="user")


def _deleting(
    service: Callable[..., int], kind: str, id: str, to_user: str | None, to_group: str | None
) -> Callable[[Viewer], str]:
    def delete(viewer: Viewer) -> str:
        return global_id(kind, service(viewer, id, people.recipient(to_user, to_group)))

    return delete


@mutation.field("deleteUser")
async def resolve_delete_user(
    _: Any, info: GraphQLResolveInfo, id: str, hand_to_user_id: str | None = None,
    hand_to_group_id: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    delete = _deleting(people.delete_user, "User", id, hand_to_user_id, hand_to_group_id)
    return await _call(info, delete, key="deleted_id")


@mutation.field("resetPassword")
async def resolve_reset_password(
    _: Any, info: GraphQLResolveInfo, id: str, password: str
) -> dict[str, Any]:
    return await _call(info, people.reset_password, id, password, key="user")


@mutation.field("setUserRoles")
async def resolve_set_user_roles(
    _: Any, info: GraphQLResolveInfo, user_id: str, role_ids: list[str]
) -> dict[str, Any]:
    def give(viewer: Viewer) -> User:
        require_permission(viewer, "user.update")
        user = people.get_user(viewer, user_id, "userId")
        roles.set_user_roles(viewer, user.id, _roles(role_ids) or [])
        return user

    return await _call(info, give, key="user")


@mutation.field("changePassword")
async def resolve_change_password(
    _: Any, info: GraphQLResolveInfo, old_password: str, new_password: str
) -> dict[str, Any]:
    return await _call(info, people.change_password, old_password, new_password, key="count")


@mutation.field("createApiToken")
async def resolve_create_api_token(
    _: Any, info: GraphQLResolveInfo, name: str, expires_in_days: int
) -> dict[str, Any]:
    answer = await _call(info, people.create_api_token, name, expires_in_days, key="made")
    made = answer.pop("made", None)
    if made is not None:
        answer["token"], answer["access_token"] = made
    return answer


@mutation.field("revokeToken")
async def resolve_revoke_token(_: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any]:
    return await _call(info, people.revoke_own_token, id, key="access_token")


# Groups and roles


@mutation.field("createGroup")
async def resolve_create_group(
    _: Any, info: GraphQLResolveInfo, name: str, member_ids: list[str] | None = None
) -> dict[str, Any]:
    return await _call(info, groups.create_group, name, member_ids or [], key="group")


@mutation.field("renameGroup")
async def resolve_rename_group(
    _: Any, info: GraphQLResolveInfo, id: str, name: str
) -> dict[str, Any]:
    return await _call(info, groups.rename_group, id, name, key="group")


@mutation.field("addGroupMembers")
async def resolve_add_members(
    _: Any, info: GraphQLResolveInfo, id: str, user_ids: list[str]
) -> dict[str, Any]:
    return await _call(info, groups.add_members, id, user_ids, key="group")


@mutation.field("removeGroupMembers")
async def resolve_remove_members(
    _: Any, info: GraphQLResolveInfo, id: str, user_ids: list[str]
) -> dict[str, Any]:
    return await _call(info, groups.remove_members, id, user_ids, key="group")


@mutation.field("setGroupRoles")
async def resolve_set_group_roles(
    _: Any, info: GraphQLResolveInfo, group_id: str, role_ids: list[str]
) -> dict[str, Any]:
    def give(viewer: Viewer) -> Group:
        require_permission(viewer, "group.update")
        group = groups.get_group(viewer, group_id, "groupId")
        roles.set_group_roles(viewer, group.id, _roles(role_ids) or [])
        return group

    return await _call(info, give, key="group")


@mutation.field("deleteGroup")
async def resolve_delete_group(
    _: Any, info: GraphQLResolveInfo, id: str, hand_to_user_id: str | None = None,
    hand_to_group_id: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    delete = _deleting(groups.delete_group, "Group", id, hand_to_user_id, hand_to_group_id)
    return await _call(info, delete, key="deleted_id")


@mutation.field("createRole")
async def resolve_create_role(
    _: Any, info: GraphQLResolveInfo, name: str, permissions: list[str]
) -> dict[str, Any]:
    return await _call(info, roles.create_role, name, permissions, key="role")


@mutation.field("updateRole")
async def resolve_update_role(
    _: Any, info: GraphQLResolveInfo, id: str, name: str | None = None,
    permissions: list[str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    return await _call(info, roles.update_role, id, name, permissions, key="role")


@mutation.field("deleteRole")
async def resolve_delete_role(_: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any]:
    def delete(viewer: Viewer) -> str:
        roles.delete_role(viewer, id)
        return id

    return await _call(info, delete, key="deleted_id")


# Shares


@mutation.field("shareNode")
async def resolve_share_node(
    _: Any, info: GraphQLResolveInfo, node_id: str, role_id: str,
    user_id: str | None = None, group_id: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    answer = await _call(info, shares.share_node, node_id, role_id, user_id, group_id, key="made")
    made = answer.pop("made", None)
    if made is not None:
        share, documents = made
        reindex_later(info.context, documents)
        answer["share"] = share
        answer["node"] = await run_db(Node.get_by_id, share.node_id)
    return answer


@mutation.field("revokeShare")
async def resolve_revoke_share(_: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any]:
    answer = await _call(info, shares.revoke_share, id, key="made")
    made = answer.pop("made", None)
    if made is not None:
        reindex_later(info.context, made[2])
        answer["deleted_id"] = id
    return answer


# Fields


@user_type.field("home")
async def resolve_home(user: User, info: GraphQLResolveInfo) -> Node | None:
    viewer = require_viewer(info)
    if user.id != viewer.id:
        return None
    node: Node = await run_db(special_folder, viewer, Node.HOME)
    return node


@user_type.field("inbox")
async def resolve_inbox(user: User, info: GraphQLResolveInfo) -> Node | None:
    viewer = require_viewer(info)
    if user.id != viewer.id:
        return None
    node: Node = await run_db(special_folder, viewer, Node.INBOX)
    return node


@user_type.field("roles")
async def resolve_user_roles(user: User, info: GraphQLResolveInfo) -> list[Role]:
    require_viewer(info)
    return await run_db(roles.roles_of_user, user.id)


@user_type.field("groups")
async def resolve_user_groups(user: User, info: GraphQLResolveInfo) -> list[Group]:
    viewer = require_viewer(info)

    def load() -> list[Group]:
        found = Group.select().join(Membership).where(Membership.user == user.id)
        everyone = user.id == viewer.id or "group.view" in viewer.permissions
        return [g for g in found.order_by(Group.name) if everyone or g.id in viewer.group_ids]

    return await run_db(load)


@user_type.field("permissions")
async def resolve_user_permissions(user: User, info: GraphQLResolveInfo) -> list[str]:
    viewer = require_viewer(info)
    if user.id == viewer.id:
        return sorted(viewer.permissions)
    other = await run_db(lambda: viewer_for(User.get_by_id(user.id)))
    return sorted(other.permissions)


@group_type.field("home")
async def resolve_group_home(group: Group, info: GraphQLResolveInfo) -> Node | None:
    return await _group_folder(group, info, Node.HOME)


@group_type.field("inbox")
async def resolve_group_inbox(group: Group, info: GraphQLResolveInfo) -> Node | None:
    return await _group_folder(group, info, Node.INBOX)


async def _group_folder(group: Group, info: GraphQLResolveInfo, special: str) -> Node | None:
    viewer = require_viewer(info)

    def load() -> Node | None:
        node = Node.get_or_none((Node.owner_group == group.id) & (Node.special == special))
        return node if node is not None and can_read(viewer, node) else None

    return await run_db(load)


@group_type.field("members")
async def resolve_members(group: Group, info: GraphQLResolveInfo) -> list[User]:
    require_viewer(info)
    return await run_db(groups.members_of, group.id)


@group_type.field("roles")
async def resolve_group_roles(group: Group, info: GraphQLResolveInfo) -> list[Role]:
    require_viewer(info)
    return await run_db(roles.roles_of_group, group.id)


@role_type.field("permissions")
def resolve_role_permissions(role: Role, *_: Any) -> list[str]:
    return sorted(role.permission_set)


@share_type.field("node")
async def resolve_share_node_field(share: Share, info: GraphQLResolveInfo) -> Node | None:
    viewer = require_viewer(info)

    def load() -> Node | None:
        node = Node.get_or_none(Node.id == share.node_id)
        return node if node is not None and can_read(viewer, node) else None

    return await run_db(load)


@share_type.field("user")
async def resolve_share_user(share: Share, info: GraphQLResolveInfo) -> User | None:
    if share.user_id is None:
        return None
    return await run_db(User.get_by_id, share.user_id)


@share_type.field("group")
async def resolve_share_group(share: Share, info: GraphQLResolveInfo) -> Group | None:
    if share.group_id is None:
        return None
    return await run_db(Group.get_by_id, share.group_id)


@share_type.field("role")
async def resolve_share_role(share: Share, info: GraphQLResolveInfo) -> Role:
    return await run_db(Role.get_by_id, share.role_id)


@token_type.field("current")
def resolve_token_current(token: AccessToken, info: GraphQLResolveInfo) -> bool:
    return bool(token.id == require_viewer(info).token_id)


@audit_type.field("actor")
async def resolve_actor(entry: AuditEntry, info: GraphQLResolveInfo) -> User | None:
    if entry.actor_id is None:
        return None
    return await run_db(User.get_or_none, User.id == entry.actor_id)


@audit_type.field("node")
async def resolve_audit_node(entry: AuditEntry, info: GraphQLResolveInfo) -> Node | None:
    viewer = require_viewer(info)
    if entry.node_id is None:
        return None

    def load() -> Node | None:
        node = Node.get_or_none(Node.id == entry.node_id)
        return node if node is not None and can_read(viewer, node) else None

    return await run_db(load)


@audit_type.field("details")
def resolve_details(entry: AuditEntry, *_: Any) -> str:
    return json.dumps(json.loads(entry.details), sort_keys=True)


async def _node_shares(node: Node, info: GraphQLResolveInfo) -> list[Share]:
    viewer = require_viewer(info)
    return await run_db(shares.shares_of, viewer, node)


folder_type.set_field("shares", _node_shares)
document_type.set_field("shares", _node_shares)

bindables = [
    query, mutation, user_type, group_type, role_type, share_type, token_type, audit_type,
    folder_type, document_type,
]  # fmt: skip
