"""An index on ``document.original_hash``: every upload looks for a duplicate by it."""

from __future__ import annotations

from peewee import Database
from playhouse.migrate import SchemaMigrator, migrate


def apply(db: Database, migrator: SchemaMigrator) -> None:
    migrate(migrator.add_index("document", ("original_hash",), False))
