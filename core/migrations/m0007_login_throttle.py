"""Login throttling per username and address, and per address (``login_throttle``).

Frozen: this class is the table as this migration creates it.
"""

from __future__ import annotations

from peewee import CharField, Database, DateTimeField, IntegerField, Model
from playhouse.migrate import SchemaMigrator

from archivist.core.db import IdField


class LoginThrottle(Model):
    id = IdField()  # never reused, as every table's since 0005
    key = CharField(max_length=64, unique=True)
    failures = IntegerField(default=0)
    window_started = DateTimeField()

    class Meta:
        legacy_table_names = False


def apply(db: Database, migrator: SchemaMigrator) -> None:
    with db.bind_ctx([LoginThrottle]):
        db.create_tables([LoginThrottle])
