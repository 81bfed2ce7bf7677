"""Users, groups, the folder tree (Home and Inbox), access tokens and login attempts.

Frozen: these classes are the tables as this migration creates them. Do not edit them to
follow the models; write a new migration instead.
"""

from __future__ import annotations

from peewee import (
    BooleanField,
    CharField,
    Database,
    DateTimeField,
    ForeignKeyField,
    Model,
)
from playhouse.migrate import SchemaMigrator


class _Base(Model):
    class Meta:
        legacy_table_names = False


class User(_Base):
    username = CharField(max_length=150, unique=True)
    email = CharField(max_length=254, null=True)
    password_hash = CharField(max_length=255)
    is_superuser = BooleanField(default=False)
    is_active = BooleanField(default=True)
    created_at = DateTimeField()

    class Meta:
        table_name = "archivist_user"


class Group(_Base):
    name = CharField(max_length=150, unique=True)
    created_at = DateTimeField()

    class Meta:
        table_name = "archivist_group"


class Membership(_Base):
    user = ForeignKeyField(User, on_delete="CASCADE")
    group = ForeignKeyField(Group, on_delete="CASCADE")

    class Meta:
        indexes = ((("user", "group"), True),)


class Node(_Base):
    kind = CharField(max_length=16)
    title = CharField(max_length=255)
    parent = ForeignKeyField("self", null=True, on_delete="CASCADE")
    owner_user = ForeignKeyField(User, null=True, on_delete="CASCADE")
    owner_group = ForeignKeyField(Group, null=True, on_delete="CASCADE")
    special = CharField(max_length=16, null=True)
    created_at = DateTimeField()
    updated_at = DateTimeField()

    class Meta:
        indexes = (
            (("owner_user", "special"), True),
            (("owner_group", "special"), True),
            (("parent", "title"), True),
        )


class AccessToken(_Base):
    user = ForeignKeyField(User, on_delete="CASCADE")
    token_hash = CharField(max_length=64, unique=True)
    created_at = DateTimeField()
    expires_at = DateTimeField(index=True)
    revoked_at = DateTimeField(null=True)


class LoginAttempt(_Base):
    username = CharField(max_length=150)
    attempted_at = DateTimeField()
    succeeded = BooleanField()
    remote_addr = CharField(max_length=64, null=True)

    class Meta:
        indexes = ((("username", "attempted_at"), False),)


TABLES = [User, Group, Membership, Node, AccessToken, LoginAttempt]


def apply(db: Database, migrator: SchemaMigrator) -> None:
    with db.bind_ctx(TABLES):
        db.create_tables(TABLES)
