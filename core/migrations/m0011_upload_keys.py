"""Idempotency keys of uploads (``upload_key``).

Frozen: these classes are the tables as this migration creates them.
"""

from __future__ import annotations

from peewee import CharField, Database, DateTimeField, ForeignKeyField, Model
from playhouse.migrate import SchemaMigrator

from archivist.core.db import IdField


class User(Model):
    id = IdField()

    class Meta:
        table_name = "archivist_user"


class Node(Model):
    id = IdField()

    class Meta:
        legacy_table_names = False


class UploadKey(Model):
    id = IdField()
    user = ForeignKeyField(User, on_delete="CASCADE")
    key = CharField(max_length=64)
    document = ForeignKeyField(Node, on_delete="CASCADE")
    created_at = DateTimeField()

    class Meta:
        legacy_table_names = False
        indexes = ((("user", "key"), True),)


def apply(db: Database, migrator: SchemaMigrator) -> None:
    with db.bind_ctx([User, Node, UploadKey]):
        db.create_tables([UploadKey])
