"""Every migration runs from an empty database, and the result is what the models describe."""

from __future__ import annotations

from peewee import Database
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
