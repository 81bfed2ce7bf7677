"""Documents, their versions and their pages.

Frozen: these classes are the tables as this migration creates them.
"""

from __future__ import annotations

from peewee import (
    BigIntegerField,
    BooleanField,
    CharField,
    Database,
    DateTimeField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)
from playhouse.migrate import SchemaMigrator

from archivist.core.db import LongTextField


class _Base(Model):
    class Meta:
        legacy_table_names = False


class Node(_Base):
    class Meta:
        table_name = "node"


class Document(_Base):
    node = ForeignKeyField(Node, unique=True, on_delete="CASCADE")
    original_hash = CharField(max_length=64)
    original_name = CharField(max_length=255)
    original_type = CharField(max_length=64)
    original_size = BigIntegerField()
    ocr_languages = CharField(max_length=64)
    ocr_mode = CharField(max_length=8)
    ocr_engine = CharField(max_length=16)
    status = CharField(max_length=16)
    error = TextField(null=True)


class DocumentVersion(_Base):
    document = ForeignKeyField(Node, on_delete="CASCADE")
    number = IntegerField()
    file_hash = CharField(max_length=64)
    page_count = IntegerField()
    has_text_layer = BooleanField()
    note = CharField(max_length=255)
    finalize_enqueued = BooleanField()
    created_at = DateTimeField()

    class Meta:
        indexes = ((("document", "number"), True),)


class Page(_Base):
    version = ForeignKeyField(DocumentVersion, on_delete="CASCADE")
    number = IntegerField()
    width = FloatField()
    height = FloatField()
    status = CharField(max_length=16)
    error = TextField(null=True)
    text = LongTextField()
    words = LongTextField()
    language = CharField(max_length=64, null=True)
    engine = CharField(max_length=16, null=True)
    source = CharField(max_length=16, null=True)
    job_id = CharField(max_length=64, null=True)
    worker = CharField(max_length=128, null=True)
    attempts = IntegerField()
    lease_until = DateTimeField(null=True)
    done_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("version", "number"), True), (("status", "lease_until"), False))


TABLES = [Document, DocumentVersion, Page]


def apply(db: Database, migrator: SchemaMigrator) -> None:
    with db.bind_ctx([Node, *TABLES]):
        db.create_tables(TABLES)
