"""Every migration runs from an empty database, and the result is what the models describe."""

from __future__ import annotations

from typing import Any

import pytest
from peewee import Database, SqliteDatabase
from playhouse.migrate import SchemaMigrator
from support import drop_all_tables, user_tables

from archivist.core.migrations import all_migrations, applied_numbers, migrate
from archivist.core.models import MODELS


def _columns(db: Database, table: str) -> dict[str, bool]:
    return {column.name: column.null for column in db.get_columns(table)}


def test_migrations_from_empty_match_the_models(migrated_database: Database) -> None:
    db = migrated_database
    try:
        with db.connection_context():
            drop_all_tables(db)
            assert user_tables(db) == []
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
                if isinstance(db, SqliteDatabase):  # ids never reused (m0005)
                    (sql,) = db.execute_sql(
                        "SELECT sql FROM sqlite_master WHERE name = ?", (table,)
                    ).fetchone()
                    assert "PRIMARY KEY AUTOINCREMENT" in sql, table
            # A second run has nothing left to do.
            assert migrate(db) == []
    finally:
        with db.connection_context():
            drop_all_tables(db)
            migrate(db)


def test_version_base_backfill(migrated_database: Database) -> None:
    """0004 gives old versions their layer-free file: their own, or the one they were made from."""
    from archivist.core.migrations import all_migrations

    db = migrated_database
    try:
        with db.connection_context():
            _migrate_to(db, 3)
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
            later = [f"{step.number:04d}" for step in all_migrations()[3:]]
            assert [name.split("_")[0] for name in migrate(db)] == later  # 0004 on
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


def test_id_rebuild_keeps_rows_references_and_indexes(migrated_database: Database) -> None:
    """0005 rebuilds SQLite tables with AUTOINCREMENT: rows, references, indexes stay."""

    db = migrated_database
    if not isinstance(db, SqliteDatabase):
        pytest.skip("0005 changes nothing on PostgreSQL and MariaDB")
    try:
        with db.connection_context():
            _migrate_to(db, 4)
            db.execute_sql(
                "INSERT INTO archivist_user (username, password_hash, is_superuser, is_active, "
                "created_at) VALUES ('u', 'x', 0, 1, '2024-01-01 00:00:00')"
            )
            for node_id, parent in ((1, None), (2, 1), (3, 2)):
                db.execute_sql(
                    "INSERT INTO node (id, kind, title, parent_id, owner_user_id, created_at, "
                    "updated_at) VALUES (?, 'folder', ?, ?, 1, '2024-01-01', '2024-01-01')",
                    (node_id, f"n{node_id}", parent),
                )
            indexes_before = {index.name for index in db.get_indexes("node")}
            later = [f"{step.number:04d}" for step in all_migrations()[4:]]
            assert [name.split("_")[0] for name in migrate(db)] == later  # 0005 on
            rows = db.execute_sql("SELECT id, parent_id, title FROM node ORDER BY id").fetchall()
            assert [tuple(row) for row in rows] == [(1, None, "n1"), (2, 1, "n2"), (3, 2, "n3")]
            # The rebuild keeps every index; 0014 adds one.
            assert {index.name for index in db.get_indexes("node")} == indexes_before | {
                "node_kind_title"
            }
            assert db.execute_sql("PRAGMA foreign_key_check").fetchall() == []
            assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
            db.execute_sql("DELETE FROM node WHERE id = 3")  # the highest id, purged
            db.execute_sql(
                "INSERT INTO node (kind, title, owner_user_id, created_at, updated_at) "
                "VALUES ('folder', 'new', 1, '2024-01-01', '2024-01-01')"
            )
            (new_id,) = db.execute_sql("SELECT id FROM node WHERE title = 'new'").fetchone()
            assert new_id == 4
            # References still cascade: deleting the user deletes its nodes.
            db.execute_sql("DELETE FROM archivist_user")
            assert db.execute_sql("SELECT count(*) FROM node").fetchone()[0] == 0
    finally:
        with db.connection_context():
            drop_all_tables(db)
            migrate(db)


def test_people_migration_keeps_owners_and_gives_everyone_roles(
    migrated_database: Database,
) -> None:
    """0012 on a database of the previous release (0011): owners stay owners, users keep
    doing what they did (Editor), superusers also get Administrator; tokens carry over."""

    db = migrated_database
    try:
        with db.connection_context():
            _migrate_to(db, 11)
            insert_user = (
                "INSERT INTO archivist_user (username, password_hash, is_superuser, is_active, "
                "created_at) VALUES (%s, 'x', %s, %s, '2024-01-01 00:00:00')"
            ).replace("%s", db.param)
            db.execute_sql(insert_user, ("admin", True, True))
            db.execute_sql(insert_user, ("alice", False, True))
            db.execute_sql(
                "INSERT INTO archivist_group (name, created_at) VALUES ('g', '2024-01-01')"
            )
            for title, user, group in (("a", 1, None), ("b", 2, None), ("c", None, 1)):
                db.execute_sql(
                    "INSERT INTO node (kind, title, owner_user_id, owner_group_id, created_at, "
                    "updated_at) VALUES ('folder', %s, %s, %s, '2024-01-01', '2024-01-01')".replace(
                        "%s", db.param
                    ),
                    (title, user, group),
                )
            db.execute_sql(
                "INSERT INTO access_token (user_id, token_hash, created_at, expires_at) "
                "VALUES (2, %s, '2024-01-01', '2099-01-01')".replace("%s", db.param),
                ("f" * 64,),
            )
            assert [name.split("_")[0] for name in migrate(db)] == [
                f"{step.number:04d}" for step in all_migrations()[11:]
            ]
            owners = db.execute_sql(
                "SELECT title, owner_user_id, owner_group_id FROM node ORDER BY title"
            ).fetchall()
            assert [tuple(row) for row in owners] == [
                ("a", 1, None),
                ("b", 2, None),
                ("c", None, 1),
            ]
            held = db.execute_sql(
                "SELECT u.username, r.name FROM user_role ur JOIN archivist_user u ON u.id = "
                "ur.user_id JOIN role r ON r.id = ur.role_id ORDER BY u.username, r.name"
            ).fetchall()
            assert [tuple(row) for row in held] == [
                ("admin", "Administrator"),
                ("admin", "Editor"),
                ("alice", "Editor"),
            ]
            (name,) = db.execute_sql("SELECT name FROM access_token").fetchone()
            assert name is None  # a login's token, as every token before named ones
    finally:
        with db.connection_context():
            drop_all_tables(db)
            migrate(db)


def test_group_tags_migration_keeps_owners_and_puts_foreign_labels_right(
    migrated_database: Database,
) -> None:
    """0013 on a database of the previous release (0012): tags and types keep their user
    owner; a member's tag or type on a group's document becomes the group's (values kept);
    another user's on a user's document (a share editor's) comes off; ids go on, never back;
    a tag or type with no owner, or two, is refused by the database."""
    from peewee import DatabaseError

    db = migrated_database
    try:
        with db.connection_context():
            _migrate_to(db, 12)

            def sql(statement: str, *params: Any) -> Any:
                return db.execute_sql(statement.replace("%s", db.param), params)

            when = "2024-01-01 00:00:00"
            for name in ("alice", "bob"):
                sql("INSERT INTO archivist_user (username, password_hash, is_superuser, "
                    "is_active, created_at) VALUES (%s, 'x', %s, %s, %s)", name, False, True, when)  # fmt: skip
            sql("INSERT INTO archivist_group (name, created_at) VALUES ('g', %s)", when)
            # Documents 1 (alice's) and 2 (the group's).
            for title, user, group in (("mine", 1, None), ("ours", None, 1)):
                sql("INSERT INTO node (kind, title, owner_user_id, owner_group_id, created_at, "
                    "updated_at) VALUES ('document', %s, %s, %s, %s, %s)", title, user, group,
                    when, when)  # fmt: skip
            # Tags 1 alice's "Home", 2 bob's "Secret", 3 a purged one (its id never comes back).
            for name, owner in (("Home", 1), ("Secret", 2), ("Gone", 1)):
                sql("INSERT INTO tag (name, color, owner_user_id, created_at) VALUES "
                    "(%s, '#888888', %s, %s)", name, owner, when)  # fmt: skip
            sql("DELETE FROM tag WHERE id = 3")
            for node, tag in ((1, 1), (1, 2), (2, 1)):
                sql("INSERT INTO node_tag (node_id, tag_id) VALUES (%s, %s)", node, tag)
            # Types 1 alice's "Bill" (on the group's document, with a value), 2 bob's "Odd"
            # (on alice's, with a value).
            for name, owner in (("Bill", 1), ("Odd", 2)):
                sql("INSERT INTO document_type (name, owner_user_id, created_at) VALUES "
                    "(%s, %s, %s)", name, owner, when)  # fmt: skip
                sql("INSERT INTO custom_field (document_type_id, name, kind, options, position) "
                    "VALUES (%s, 'Amount', 'number', '[]', 0)", owner)  # fmt: skip
            for node, type_id in ((1, 2), (2, 1)):
                sql("INSERT INTO document (node_id, original_hash, original_name, original_type,"
                    " original_size, ocr_languages, ocr_mode, ocr_engine, status,"
                    " document_type_id, index_revision, indexed_revision) VALUES (%s, %s, 'f',"
                    " 'application/pdf', 1, 'en', 'auto', 'easyocr', 'ready', %s, 3, 3)",
                    node, "0" * 64, type_id)  # fmt: skip
                sql("INSERT INTO custom_field_value (document_id, field_id, value_number) "
                    "VALUES (%s, %s, 12)", node, type_id)  # fmt: skip

            assert [name.split("_")[0] for name in migrate(db)][:1] == ["0013"]

            def rows(statement: str) -> list[tuple[Any, ...]]:
                return [tuple(row) for row in db.execute_sql(statement).fetchall()]

            assert rows("SELECT id, name, owner_user_id, owner_group_id FROM tag ORDER BY id") == [
                (1, "Home", 1, None),
                (2, "Secret", 2, None),
                (4, "Home", None, 1),
            ]
            assert rows("SELECT node_id, tag_id FROM node_tag ORDER BY node_id, tag_id") == [
                (1, 1),
                (2, 4),
            ]
            types = "SELECT id, name, owner_user_id, owner_group_id FROM document_type ORDER BY id"
            assert rows(types) == [(1, "Bill", 1, None), (2, "Odd", 2, None), (3, "Bill", None, 1)]
            assert rows("SELECT node_id, document_type_id, index_revision FROM document "
                        "ORDER BY node_id") == [(1, None, 4), (2, 3, 4)]  # fmt: skip
            copied = rows("SELECT id FROM custom_field WHERE document_type_id = 3")
            assert rows("SELECT document_id, field_id FROM custom_field_value") == [
                (2, copied[0][0])
            ]
            for owners in ("NULL, NULL", "1, 1"):
                with pytest.raises(DatabaseError), db.atomic():
                    sql("INSERT INTO tag (name, color, owner_user_id, owner_group_id, created_at)"
                        f" VALUES ('x', '#888888', {owners}, %s)", when)  # fmt: skip
                with pytest.raises(DatabaseError), db.atomic():
                    sql("INSERT INTO document_type (name, owner_user_id, owner_group_id, "
                        f"created_at) VALUES ('x', {owners}, %s)", when)  # fmt: skip
            if isinstance(db, SqliteDatabase):
                assert db.execute_sql("PRAGMA foreign_key_check").fetchall() == []
    finally:
        with db.connection_context():
            drop_all_tables(db)
            migrate(db)


def _migrate_to(db: Database, count: int) -> None:
    """An empty database brought to the schema of the first ``count`` migrations, as the
    release that had only those left it."""

    from archivist.core.migrations import all_migrations
    from archivist.core.models import Migration

    drop_all_tables(db)
    with db.bind_ctx([Migration]):
        db.create_tables([Migration])
        migrator = SchemaMigrator.from_database(db)
        for step in all_migrations()[:count]:
            step.module.apply(db, migrator)
            Migration.create(number=step.number, name=step.name)
