"""An index on ``node (kind, title)``: a search box's folder suggestions look folders up by
the start of their title. Without it the database walks every node the viewer may read (a
viewer in 50 groups: most of the archive) to find the few folders among them."""

from __future__ import annotations

from peewee import Database
from playhouse.migrate import SchemaMigrator, migrate


def apply(db: Database, migrator: SchemaMigrator) -> None:
    migrate(migrator.add_index("node", ("kind", "title"), False))
