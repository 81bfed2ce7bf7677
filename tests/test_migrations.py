"""Every migration runs from an empty database, and the result is what the models describe."""

from __future__ import annotations

from peewee import Database
from playhouse.migrate import SchemaMigrator
from support import drop_all_tables

from archivist.core.migrations import all_migrations, applied_numbers, migrate
from archivist.core.models import MODELS


def _columns(db: Database, table: str) -> dict[str, bool]:
    return {column.name: column.null for column in db.get_columns(table)}


def test_migrations_from_empty_match_the_models(migrated_database: Database) -> None:
    db = migrated_database
    try:
        with db.connection_context():
            drop_all_tables(db)
            assert db.get_tables() == []
            applied = migrate(db)
            assert [name.split("_", 1)[0] for name in applied] == [
                f"{step.number:04d}" for step in all_migrations()
            ]
            assert applied_numbers(db) == {step.number for step in all_migrations()}
            for model in MODELS:
                table = model._meta.table_name
                expected = {field.column_name: field.null for field in model._meta.sorted_fields}
                assert _columns(db, table) == expected, table
                model_indexes = {
                    tuple(model._meta.fields[name].column_name for name in fields)
                    for fields, _unique in model._meta.indexes
                }
                db_indexes = {tuple(index.columns) for index in db.get_indexes(table)}
                assert model_indexes <= db_indexes, table
            # A second run has nothing left to do.
            assert migrate(db) == []
    finally:
        with db.connection_context():
            drop_all_tables(db)
            migrate(db)


def test_version_base_backfill(migrated_database: Database) -> None:
    """0004 gives old versions their layer-free file: their own, or the one they were made from."""
    from archivist.core.migrations import all_migrations
    from archivist.core.models import Migration

    db = migrated_database
    try:
        with db.connection_context():
            drop_all_tables(db)
            with db.bind_ctx([Migration]):
                db.create_tables([Migration])
                migrator = SchemaMigrator.from_database(db)
                for step in all_migrations()[:3]:
                    step.module.apply(db, migrator)
                    Migration.create(number=step.number, name=step.name)
            db.execute_sql(
                "INSERT INTO archivist_user (username, password_hash, is_superuser, is_active, "
                "created_at) VALUES ('u', 'x', %s, %s, '2024-01-01 00:00:00')".replace(
                    "%s", db.param
                ),
                (False, True),
            )
            db.execute_sql(
                "INSERT INTO node (kind, title, owner_user_id, created_at, updated_at) "
                "VALUES ('document', 'd', 1, '2024-01-01 00:00:00', '2024-01-01 00:00:00')"
            )
            for number, file_hash, layer in (
                (1, "a" * 64, False),
                (2, "b" * 64, True),
                (3, "c" * 64, False),
            ):
                db.execute_sql(
                    "INSERT INTO document_version (document_id, number, file_hash, page_count, "
                    "has_text_layer, note, finalize_enqueued, created_at) VALUES "
                    "(1, %s, %s, 1, %s, '', %s, '2024-01-01 00:00:00')".replace("%s", db.param),
                    (number, file_hash, layer, True),
                )
            assert [name.split("_")[0] for name in migrate(db)] == ["0004"]
            rows = db.execute_sql("SELECT number, base_hash FROM document_version ORDER BY number")
            assert [tuple(row) for row in rows.fetchall()] == [
                (1, "a" * 64),
                (2, "a" * 64),
                (3, "c" * 64),
            ]
    finally:
        with db.connection_context():
            drop_all_tables(db)
            migrate(db)
