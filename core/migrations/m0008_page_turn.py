"""Each page remembers how far its page job found it must turn to be upright (``page.turn``).

The final step of processing stores such a page turned (see archivist.jobs.pipeline); pages
processed before this migration were read as they were stored, so they start at 0.
"""

from __future__ import annotations

from peewee import Database, IntegerField
from playhouse.migrate import SchemaMigrator, migrate


def apply(db: Database, migrator: SchemaMigrator) -> None:
    migrate(migrator.add_column("page", "turn", IntegerField(default=0)))
