"""A page keeps its identity across the versions of its document (``page.logical_id``).

Every version has page rows of its own; ``logical_id`` names the row where the page first
appeared (null: this row is that first row), so the API can give a page one id from upload to
its last edit. Pages of versions made before this migration are matched with the page of the
same number in the version before (the best there is: an older reorder is not recorded).
"""

from __future__ import annotations

from peewee import Database, IntegerField
from playhouse.migrate import SchemaMigrator, migrate


def apply(db: Database, migrator: SchemaMigrator) -> None:
    migrate(migrator.add_column("page", "logical_id", IntegerField(null=True)))
    backfill(db)


def backfill(db: Database) -> int:
    """Give the pages of every later version the identity of the same-numbered page in the
    version before; returns how many rows changed."""
    rows = db.execute_sql(
        "SELECT v.document_id, v.number, p.number, p.id FROM page p"
        " JOIN document_version v ON v.id = p.version_id"
        " ORDER BY v.document_id, v.number, p.number"
    ).fetchall()
    previous: dict[int, int] = {}  # page number -> logical id, in the version before
    current: dict[int, int] = {}
    document = version = None
    updates: list[tuple[int, int]] = []
    for document_id, version_number, page_number, page_id in rows:
        if (document_id, version_number) != (document, version):
            previous = current if document_id == document else {}
            current = {}
            document, version = document_id, version_number
        logical = previous.get(page_number, page_id)
        current[page_number] = logical
        if logical != page_id:
            updates.append((logical, page_id))
    for logical, page_id in updates:
        db.execute_sql(
            f"UPDATE page SET logical_id = {db.param} WHERE id = {db.param}", (logical, page_id)
        )
    return len(updates)
