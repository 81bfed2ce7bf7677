"""Roles, shares, the audit log and named API tokens (``role``, ``user_role``, ``group_role``,
``share``, ``audit_entry``, ``access_token.name``).

Existing data carries over: owners stay owners (nothing about ``node`` changes), and every
existing user gets the built-in Editor role, superusers Administrator too, so that everyone
may go on doing what they did before. Frozen: these classes and role lists are the tables and
roles as this migration makes them (later releases bring built-in roles up to date at start,
see :func:`archivist.core.accounts.roles.ensure_builtin_roles`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from peewee import (
    BooleanField,
    CharField,
    Database,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)
from playhouse.migrate import SchemaMigrator, migrate

from archivist.core.db import IdField

_NODE = ["node.view", "node.create", "node.update", "node.move", "node.delete"]
_DOCS = ["document.upload", "document.download", "page.edit"]
_TAGS = ["tag.view", "tag.create", "tag.update", "tag.delete"]
_TYPES = ["document_type.view", "document_type.create", "document_type.update"]
_TYPES += ["document_type.delete"]
_SHARES = ["share.view", "share.create", "share.delete"]
_ADMIN = ["user.view", "user.create", "user.update", "user.delete"]
_ADMIN += ["group.view", "group.create", "group.update", "group.delete"]
_ADMIN += ["role.view", "role.create", "role.update", "role.delete", "audit_log.view"]
BUILTIN_ROLES = {
    "Viewer": ["node.view", "document.download", "tag.view", "document_type.view", "share.view"],
    "Editor": _NODE + _DOCS + _TAGS + _TYPES + _SHARES,
    "Administrator": _NODE + _DOCS + _TAGS + _TYPES + _SHARES + _ADMIN,
}


class User(Model):
    id = IdField()
    is_superuser = BooleanField(default=False)

    class Meta:
        table_name = "archivist_user"


class Group(Model):
    id = IdField()

    class Meta:
        table_name = "archivist_group"


class Node(Model):
    id = IdField()

    class Meta:
        legacy_table_names = False


class Role(Model):
    id = IdField()
    name = CharField(max_length=100, unique=True)
    permissions = TextField(default="")
    builtin = BooleanField(default=False)
    created_at = DateTimeField()

    class Meta:
        legacy_table_names = False


class UserRole(Model):
    id = IdField()
    user = ForeignKeyField(User, on_delete="CASCADE")
    role = ForeignKeyField(Role, on_delete="CASCADE")

    class Meta:
        legacy_table_names = False
        indexes = ((("user", "role"), True),)


class GroupRole(Model):
    id = IdField()
    group = ForeignKeyField(Group, on_delete="CASCADE")
    role = ForeignKeyField(Role, on_delete="CASCADE")

    class Meta:
        legacy_table_names = False
        indexes = ((("group", "role"), True),)


class Share(Model):
    id = IdField()
    node = ForeignKeyField(Node, on_delete="CASCADE")
    user = ForeignKeyField(User, null=True, on_delete="CASCADE")
    group = ForeignKeyField(Group, null=True, on_delete="CASCADE")
    role = ForeignKeyField(Role, on_delete="CASCADE")
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField()

    class Meta:
        legacy_table_names = False
        indexes = ((("node", "user"), True), (("node", "group"), True))


class AuditEntry(Model):
    id = IdField()
    at = DateTimeField(index=True)
    actor_id = IntegerField(null=True, index=True)
    actor_name = CharField(max_length=150, default="")
    action = CharField(max_length=64)
    node_id = IntegerField(null=True, index=True)
    target_user_id = IntegerField(null=True)
    target_group_id = IntegerField(null=True)
    details = TextField(default="{}")

    class Meta:
        legacy_table_names = False


TABLES = [User, Group, Node, Role, UserRole, GroupRole, Share, AuditEntry]


def apply(db: Database, migrator: SchemaMigrator) -> None:
    migrate(migrator.add_column("access_token", "name", CharField(max_length=100, null=True)))
    with db.bind_ctx(TABLES):
        db.create_tables([Role, UserRole, GroupRole, Share, AuditEntry])
        now = datetime.now(UTC).replace(tzinfo=None)
        roles = {}
        for name, permissions in BUILTIN_ROLES.items():
            roles[name] = Role.create(
                name=name, permissions=" ".join(sorted(permissions)), builtin=True, created_at=now
            )
        for user in User.select(User.id, User.is_superuser):
            UserRole.create(user=user.id, role=roles["Editor"].id)
            if user.is_superuser:
                UserRole.create(user=user.id, role=roles["Administrator"].id)
