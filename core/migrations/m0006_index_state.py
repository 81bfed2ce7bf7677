"""What the search index must hold is recorded in the database, like page work is.

Each document gets an index revision (raised in the same transaction as every change that
alters what search holds for it), the revision its index entries were last written from, when
index work was last asked for, and a fingerprint of what was written (``archivist index check``
compares it with the database). Existing documents start in step (0 = 0): the index they have
was built by the jobs of the code before this one.
"""

from __future__ import annotations

from peewee import CharField, Database, DateTimeField, IntegerField
from playhouse.migrate import SchemaMigrator, migrate


def apply(db: Database, migrator: SchemaMigrator) -> None:
    migrate(
        migrator.add_column("document", "index_revision", IntegerField(default=0)),
        migrator.add_column("document", "indexed_revision", IntegerField(default=0)),
        migrator.add_column("document", "index_requested_at", DateTimeField(null=True)),
        migrator.add_column("document", "indexed_fingerprint", CharField(max_length=64, null=True)),
    )
