"""Groups: a Home and an Inbox of their own, members, and roles the members hold through the
group. What a group owns is its members', as their roles allow (see core/permissions.py)."""

from __future__ import annotations

from peewee import IntegrityError

from archivist.core.accounts.audit import record
from archivist.core.accounts.handover import hand_over
from archivist.core.db import database
from archivist.core.errors import NotFound, UserFacingError
from archivist.core.ids import decode_id
from archivist.core.models import Group, Membership, Node, User
from archivist.core.permissions import require_permission
from archivist.core.users import Viewer


def _name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > 150:
        raise UserFacingError("INVALID_NAME", "A group's name is 1 to 150 characters.", "name")
    return cleaned


def _taken(name: str) -> UserFacingError:
    return UserFacingError("NAME_TAKEN", f"There is already a group called '{name}'.", "name")


def visible_groups(viewer: Viewer) -> list[Group]:
    """Every group for those with ``group.view``; else the viewer's own groups."""
    query = Group.select().order_by(Group.name)
    if "group.view" not in viewer.permissions:
        query = query.where(Group.id.in_(sorted(viewer.group_ids) or [0]))
    return list(query)


def get_group(viewer: Viewer, group_id: str, field: str = "id") -> Group:
    """A group the viewer may see (a member, or ``group.view``); raises NotFound."""
    _, row_id = decode_id(group_id, ("Group",), field)
    if row_id not in viewer.group_ids and "group.view" not in viewer.permissions:
        raise NotFound("group", field)
    group = Group.get_or_none(Group.id == row_id)
    if group is None:
        raise NotFound("group", field)
    return group


def _user(user_id: str, field: str) -> User:
    _, row_id = decode_id(user_id, ("User",), field)
    user = User.get_or_none(User.id == row_id)
    if user is None:
        raise NotFound("user", field)
    return user


def create_group(viewer: Viewer, name: str, member_ids: list[str]) -> Group:
    """A group with its Home and Inbox, and its first members."""
    require_permission(viewer, "group.create")
    name = _name(name)
    members = [_user(user_id, "memberIds") for user_id in member_ids]
    try:
        with database.atomic():
            group: Group = Group.create(name=name)
            for special, title in ((Node.HOME, "Home"), (Node.INBOX, "Inbox")):
                Node.create(kind=Node.FOLDER, title=title, owner_group=group, special=special)
            for user in members:
                Membership.insert(user=user.id, group=group.id).on_conflict_ignore().execute()
            record(viewer, "group.create", group_id=group.id, name=name,
                   members=[u.username for u in members])  # fmt: skip
    except IntegrityError:
        raise _taken(name) from None
    return group


def rename_group(viewer: Viewer, group_id: str, name: str) -> Group:
    require_permission(viewer, "group.update")
    group = get_group(viewer, group_id)
    name = _name(name)
    try:
        with database.atomic():
            Group.update(name=name).where(Group.id == group.id).execute()
            record(viewer, "group.rename", group_id=group.id, old=group.name, new=name)
    except IntegrityError:
        raise _taken(name) from None
    group.name = name
    return group


def add_members(viewer: Viewer, group_id: str, user_ids: list[str]) -> Group:
    """Members see the group's folders at their next request (search included: the index
    names the group as the reader, not its members)."""
    require_permission(viewer, "group.update")
    group = get_group(viewer, group_id)
    users = [_user(user_id, "userIds") for user_id in user_ids]
    with database.atomic():
        for user in users:
            Membership.insert(user=user.id, group=group.id).on_conflict_ignore().execute()
        record(viewer, "group.add_members", group_id=group.id,
               members=[u.username for u in users])  # fmt: skip
    return group


def remove_members(viewer: Viewer, group_id: str, user_ids: list[str]) -> Group:
    require_permission(viewer, "group.update")
    group = get_group(viewer, group_id)
    users = [_user(user_id, "userIds") for user_id in user_ids]
    with database.atomic():
        Membership.delete().where(
            (Membership.group == group.id) & Membership.user.in_([u.id for u in users] or [0])
        ).execute()
        record(viewer, "group.remove_members", group_id=group.id,
               members=[u.username for u in users])  # fmt: skip
    return group


def delete_group(viewer: Viewer, group_id: str, hand_to: tuple[int | None, int | None]) -> int:
    """Delete a group; what it owns goes to ``hand_to`` (a user id or a group id) first."""
    require_permission(viewer, "group.delete")
    group = get_group(viewer, group_id)
    with database.atomic():
        hand_over((None, group.id), hand_to, f"group {group.name}")
        Node.delete().where(Node.owner_group == group.id).execute()  # its Home and Inbox
        group.delete_instance(recursive=False)
        record(viewer, "group.delete", group_id=group.id, name=group.name)
    return int(group.id)


def members_of(group_id: int) -> list[User]:
    return list(
        User.select().join(Membership).where(Membership.group == group_id).order_by(User.username)
    )
