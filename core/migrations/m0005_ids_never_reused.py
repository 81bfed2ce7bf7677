"""Ids are never handed out twice: SQLite tables get ``AUTOINCREMENT`` keys.

Without it SQLite gives a purged row's id (the highest) to the next insert, and whatever
still held the old id (a search entry, a progress subscription, a link) reached the new row,
another user's included. SQLite cannot alter a column, so each table is rebuilt: created
again from its own SQL with the keyword added, filled, swapped in, its indexes made again.
``sqlite_sequence`` starts at each table's highest id, so no id in use or seen is reused.

PostgreSQL sequences and MariaDB's ``AUTO_INCREMENT`` never go back: nothing to do there.
Runs with SQLite's foreign keys off (see ``SQLITE_FOREIGN_KEYS_OFF``): dropping a table
with them on would first delete its rows and cascade to every table that refers to it.
"""

from __future__ import annotations

import re

from peewee import Database, SqliteDatabase
from playhouse.migrate import SchemaMigrator

SQLITE_FOREIGN_KEYS_OFF = True

# Every table at this point whose rows have an id (frozen: later tables are created right).
TABLES = (
    "archivist_user",
    "archivist_group",
    "membership",
    "node",
    "tag",
    "node_tag",
    "document_type",
    "custom_field",
    "custom_field_value",
    "document",
    "document_version",
    "page",
    "access_token",
    "login_attempt",
    "archivist_migration",
)

_KEY = re.compile(r'("id" INTEGER NOT NULL PRIMARY KEY)(?! AUTOINCREMENT)')
_HEADER = re.compile(r'^CREATE TABLE (IF NOT EXISTS )?"?(\w+)"?', re.IGNORECASE)


def apply(db: Database, migrator: SchemaMigrator) -> None:
    if not isinstance(db, SqliteDatabase):
        return
    for table in TABLES:
        _rebuild(db, table)


def _rebuild(db: Database, table: str) -> None:
    row = db.execute_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    if row is None:
        return
    create, found = _KEY.subn(r"\1 AUTOINCREMENT", row[0], count=1)
    if not found:
        return  # already AUTOINCREMENT (or no integer id): nothing to rebuild
    rebuilt = f"{table}__rebuilt"
    create = _HEADER.sub(f'CREATE TABLE "{rebuilt}"', create, count=1)
    indexes = [
        sql
        for (sql,) in db.execute_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL",
            (table,),
        ).fetchall()
    ]
    db.execute_sql(create)
    db.execute_sql(f'INSERT INTO "{rebuilt}" SELECT * FROM "{table}"')
    db.execute_sql(f'DROP TABLE "{table}"')
    db.execute_sql(f'ALTER TABLE "{rebuilt}" RENAME TO "{table}"')
    for sql in indexes:
        db.execute_sql(sql)
