"""Roles: named sets of permissions, given to users directly and to groups (whose members
then hold them). The built-in roles (Viewer, Editor, Administrator) are kept as
:data:`archivist.core.permissions.BUILTIN_ROLES` says and cannot be changed or deleted."""

from __future__ import annotations

from collections.abc import Iterable

from peewee import IntegrityError

from archivist.core.accounts.audit import record
from archivist.core.db import database
from archivist.core.errors import NotFound, UserFacingError
from archivist.core.ids import decode_id
from archivist.core.models import GroupRole, Role, UserRole
from archivist.core.permissions import BUILTIN_ROLES, PERMISSIONS, require_permission
from archivist.core.users import Viewer


def ensure_builtin_roles() -> dict[str, Role]:
    """Make the built-in roles where missing and give them today's permissions; returns them
    by name. Idempotent and safe to run from several processes at once."""
    for name, permissions in BUILTIN_ROLES.items():
        text = " ".join(sorted(permissions))
        Role.insert(name=name, permissions=text, builtin=True).on_conflict_ignore().execute()
        Role.update(permissions=text, builtin=True).where(
            (Role.name == name) & (Role.permissions != text)
        ).execute()
    return {role.name: role for role in Role.select().where(Role.name.in_(list(BUILTIN_ROLES)))}


def give_roles(user_id: int, roles: Iterable[Role]) -> None:
    rows = [{"user": user_id, "role": role.id} for role in roles]
    if rows:
        UserRole.insert_many(rows).on_conflict_ignore().execute()


def get_role(role_id: str, field: str = "roleId") -> Role:
    """The role an API id names; raises NotFound. Roles are no secret: every signed-in person
    may see them (to choose one for a share)."""
    _, row_id = decode_id(role_id, ("Role",), field)
    role = Role.get_or_none(Role.id == row_id)
    if role is None:
        raise NotFound("role", field)
    return role


def _permissions(names: list[str]) -> str:
    unknown = sorted(set(names) - set(PERMISSIONS))
    if unknown:
        raise UserFacingError(
            "UNKNOWN_PERMISSION", f"No such permission: {', '.join(unknown)}.", "permissions"
        )
    return " ".join(sorted(set(names)))


def _name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > 100:
        raise UserFacingError("INVALID_NAME", "A role's name is 1 to 100 characters.", "name")
    return cleaned


def _taken(name: str) -> UserFacingError:
    return UserFacingError("NAME_TAKEN", f"There is already a role called '{name}'.", "name")


def create_role(viewer: Viewer, name: str, permissions: list[str]) -> Role:
    require_permission(viewer, "role.create")
    name, text = _name(name), _permissions(permissions)
    try:
        with database.atomic():
            role: Role = Role.create(name=name, permissions=text)
            record(viewer, "role.create", name=name, permissions=text)
    except IntegrityError:
        raise _taken(name) from None
    return role


def _editable(viewer: Viewer, role_id: str, permission: str) -> Role:
    require_permission(viewer, permission)
    role = get_role(role_id, "id")
    if role.builtin:
        raise UserFacingError(
            "BUILTIN_ROLE", f"'{role.name}' is built in: make a role of your own.", "id"
        )
    return role


def update_role(
    viewer: Viewer, role_id: str, name: str | None, permissions: list[str] | None
) -> Role:
    role = _editable(viewer, role_id, "role.update")
    changes = {}
    if name is not None:
        changes["name"] = _name(name)
    if permissions is not None:
        changes["permissions"] = _permissions(permissions)
    try:
        with database.atomic():
            Role.update(**changes).where(Role.id == role.id).execute()
            record(viewer, "role.update", old={"name": role.name, "permissions": role.permissions},
                   new=changes)  # fmt: skip
    except IntegrityError:
        raise _taken(changes.get("name", role.name)) from None
    return Role.get_by_id(role.id)


def delete_role(viewer: Viewer, role_id: str) -> int:
    """Delete a role; whoever held it (directly, through a group or a share) loses it."""
    role = _editable(viewer, role_id, "role.delete")
    with database.atomic():
        role.delete_instance(recursive=False)  # user_role, group_role and share cascade
        record(viewer, "role.delete", name=role.name)
    return int(role.id)


def set_user_roles(viewer: Viewer, user_id: int, roles: list[Role]) -> None:
    require_permission(viewer, "user.update")
    with database.atomic():
        UserRole.delete().where(UserRole.user == user_id).execute()
        give_roles(user_id, roles)
        record(viewer, "user.roles", user_id=user_id, roles=sorted(r.name for r in roles))


def set_group_roles(viewer: Viewer, group_id: int, roles: list[Role]) -> None:
    require_permission(viewer, "group.update")
    with database.atomic():
        GroupRole.delete().where(GroupRole.group == group_id).execute()
        rows = [{"group": group_id, "role": role.id} for role in roles]
        if rows:
            GroupRole.insert_many(rows).on_conflict_ignore().execute()
        record(viewer, "group.roles", group_id=group_id, roles=sorted(r.name for r in roles))


def roles_of_user(user_id: int) -> list[Role]:
    """The roles given to a user directly."""
    return list(Role.select().join(UserRole).where(UserRole.user == user_id).order_by(Role.name))


def roles_of_group(group_id: int) -> list[Role]:
    return list(
        Role.select().join(GroupRole).where(GroupRole.group == group_id).order_by(Role.name)
    )
