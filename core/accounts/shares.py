"""Shares: a folder or document shared with a user or a group, with a role that says what
they may do with it. A shared folder shares everything below it, also what is added later
(access is decided by walking up from a node, see core/permissions.py).

Only the owner's side shares and revokes (the owner, or members of the owning group, with
``share.create``/``share.delete``): someone a folder is shared with does not pass it on.
Sharing and revoking re-index the documents below, so that search holds the new readers;
until that is done, search still asks the access module for every hit, so a revoked share
finds nothing from the moment it is revoked.
"""

from __future__ import annotations

from peewee import IntegrityError

from archivist.core.accounts.audit import record
from archivist.core.accounts.roles import get_role
from archivist.core.db import database
from archivist.core.errors import NotFound, UserFacingError
from archivist.core.folders import descendant_ids, documents_among
from archivist.core.ids import decode_id
from archivist.core.index_state import mark_for_index
from archivist.core.models import Group, Node, Share, User
from archivist.core.nodes import get_node
from archivist.core.permissions import is_own, permission_denied, require
from archivist.core.users import Viewer


def _owned_node(viewer: Viewer, node_id: str | int, permission: str, field: str = "nodeId") -> Node:
    node = get_node(viewer, node_id, field)
    if not is_own(viewer, node):
        raise permission_denied(permission, field)
    require(viewer, node, permission, field)
    return node


def share_node(
    viewer: Viewer, node_id: str, role_id: str, user_id: str | None, group_id: str | None
) -> tuple[Share, list[int]]:
    """Share a node with one user or one group with a role (sharing again changes the role).
    Returns the share and the documents to re-index."""
    node = _owned_node(viewer, node_id, "share.create")
    if node.deleted_at is not None:
        raise UserFacingError("IN_TRASH", "That is in the trash.", "nodeId")
    role = get_role(role_id)
    if (user_id is None) == (group_id is None):
        raise UserFacingError(
            "SHARE_TARGET_REQUIRED", "Share with one user or one group.", "userId"
        )
    user = group = None
    if user_id is not None:
        _, row = decode_id(user_id, ("User",), "userId")
        user = User.get_or_none((User.id == row) & (User.is_active == True))  # noqa: E712
        if user is None:
            raise NotFound("user", "userId")
        if user.id == viewer.id:
            raise UserFacingError("SHARE_TARGET_REQUIRED", "That is yours already.", "userId")
    else:
        _, row = decode_id(group_id, ("Group",), "groupId")
        group = Group.get_or_none(Group.id == row)
        if group is None:
            raise NotFound("group", "groupId")
    documents = documents_among(descendant_ids([node.id]))
    try:
        with database.atomic():
            whom = (Share.user == user.id) if user else (Share.group == group.id)  # type: ignore[union-attr]
            existing = Share.get_or_none((Share.node == node.id) & whom)
            if existing is not None:
                Share.update(role=role.id).where(Share.id == existing.id).execute()
                share = Share.get_by_id(existing.id)
            else:
                share = Share.create(
                    node=node.id, user=user.id if user else None,
                    group=group.id if group else None, role=role.id, created_by=viewer.id,
                )  # fmt: skip
            mark_for_index(documents)
            record(viewer, "share.create", node_id=node.id,
                   user_id=user.id if user else None, group_id=group.id if group else None,
                   role=role.name)  # fmt: skip
    except IntegrityError:  # the same share made at the same moment
        raise UserFacingError("SHARE_TARGET_REQUIRED", "Shared already; try again.") from None
    return share, documents


def revoke_share(viewer: Viewer, share_id: str) -> tuple[int, Node, list[int]]:
    """Revoke a share at once; returns its row id, its node and the documents to re-index."""
    _, row = decode_id(share_id, ("Share",), "id")
    share = Share.get_or_none(Share.id == row)
    if share is None:
        raise NotFound("share", "id")
    try:
        node = _owned_node(viewer, share.node_id, "share.delete", "id")
    except NotFound:
        raise NotFound("share", "id") from None
    documents = documents_among(descendant_ids([node.id]))
    with database.atomic():
        share.delete_instance()
        mark_for_index(documents)
        record(viewer, "share.delete", node_id=node.id, user_id=share.user_id,
               group_id=share.group_id)  # fmt: skip
    return int(share.id), node, documents


def shares_of(viewer: Viewer, node: Node) -> list[Share]:
    """A node's shares, for its owner's side with ``share.view``; empty for anyone else."""
    if not is_own(viewer, node) or "share.view" not in viewer.permissions:
        return []
    return list(Share.select().where(Share.node == node.id).order_by(Share.id))


def visible_share(viewer: Viewer, share_id: int) -> Share | None:
    """A share, for its node's owner side (with ``share.view``) and for whom it names."""
    share = Share.get_or_none(Share.id == share_id)
    if share is None:
        return None
    if share.user_id == viewer.id or share.group_id in viewer.group_ids:
        return share
    node = Node.get_by_id(share.node_id)
    return share if share in shares_of(viewer, node) else None


def shared_with_me(viewer: Viewer) -> list[Node]:
    """The top nodes shared with the viewer (or a group of theirs) that they may see, not in
    the trash, by title."""
    ids = [node_id for node_id, perms in viewer.shares if "node.view" in perms]
    return list(
        Node.select()
        .where(Node.id.in_(ids or [0]) & Node.deleted_at.is_null())
        .order_by(Node.title, Node.id)
    )
