"""Trash, tags, document types with custom fields.

Frozen: these classes are the tables as this migration creates them.
"""

from __future__ import annotations

from typing import cast

from peewee import (
    BooleanField,
    CharField,
    Database,
    DateField,
    DateTimeField,
    DecimalField,
    Field,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)
from playhouse.migrate import SchemaMigrator, migrate


class _Base(Model):
    class Meta:
        legacy_table_names = False


class User(_Base):
    class Meta:
        table_name = "archivist_user"


class Node(_Base):
    class Meta:
        table_name = "node"


class Document(_Base):
    class Meta:
        table_name = "document"


class Tag(_Base):
    name = CharField(max_length=100)
    color = CharField(max_length=7)
    owner_user = ForeignKeyField(User, on_delete="CASCADE")
    created_at = DateTimeField()

    class Meta:
        indexes = ((("owner_user", "name"), True),)


class NodeTag(_Base):
    node = ForeignKeyField(Node, on_delete="CASCADE")
    tag = ForeignKeyField(Tag, on_delete="CASCADE")

    class Meta:
        indexes = ((("node", "tag"), True),)


class DocumentType(_Base):
    name = CharField(max_length=100)
    owner_user = ForeignKeyField(User, on_delete="CASCADE")
    created_at = DateTimeField()

    class Meta:
        indexes = ((("owner_user", "name"), True),)


class CustomField(_Base):
    document_type = ForeignKeyField(DocumentType, on_delete="CASCADE")
    name = CharField(max_length=100)
    kind = CharField(max_length=16)
    options = TextField()
    position = IntegerField()

    class Meta:
        indexes = ((("document_type", "name"), True),)


class CustomFieldValue(_Base):
    document = ForeignKeyField(Node, on_delete="CASCADE")
    field = ForeignKeyField(CustomField, on_delete="CASCADE")
    value_text = TextField(null=True)
    value_number = DecimalField(max_digits=20, decimal_places=6, null=True)
    value_date = DateField(null=True)
    value_bool = BooleanField(null=True)

    class Meta:
        indexes = ((("document", "field"), True),)


TABLES = [Tag, NodeTag, DocumentType, CustomField, CustomFieldValue]


def apply(db: Database, migrator: SchemaMigrator) -> None:
    with db.bind_ctx([User, Node, Document, *TABLES]):
        db.create_tables(TABLES)
        migrate(
            migrator.add_column("node", "deleted_at", DateTimeField(null=True)),
            migrator.add_column("node", "trashed_from", IntegerField(null=True)),
            migrator.add_column(
                "document",
                "document_type_id",
                ForeignKeyField(
                    DocumentType,
                    null=True,
                    on_delete="SET NULL",
                    field=cast(Field, DocumentType._meta.primary_key),
                ),
            ),
        )
