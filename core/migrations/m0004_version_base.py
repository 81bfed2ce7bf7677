"""Each version remembers its PDF without our text layer (``base_hash``).

Processing again after page edits must start from a file with the same pages but none of the
invisible text a previous run added. Existing versions get their own file, or, for a version
made by adding the text layer, the file of the version before it.
"""

from __future__ import annotations

from peewee import CharField, Database
from playhouse.migrate import SchemaMigrator, migrate


def apply(db: Database, migrator: SchemaMigrator) -> None:
    migrate(
        migrator.add_column("document_version", "base_hash", CharField(max_length=64, default=""))
    )
    rows = db.execute_sql(
        "SELECT id, document_id, number, file_hash, has_text_layer FROM document_version "
        "ORDER BY document_id, number"
    ).fetchall()
    base_of: dict[tuple[int, int], str] = {}
    for version_id, document_id, number, file_hash, has_text_layer in rows:
        base = base_of.get((document_id, number - 1), file_hash) if has_text_layer else file_hash
        base_of[(document_id, number)] = base
        db.execute_sql(
            "UPDATE document_version SET base_hash = %s WHERE id = %s".replace("%s", db.param),
            (base, version_id),
        )
