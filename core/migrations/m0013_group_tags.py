"""Groups own tags and document types too (``tag.owner_group``, ``document_type.owner_group``),
and a folder or document carries only its owner's tags and types.

Each row has exactly one owner, a user or a group (a CHECK constraint), and names are unique
per owner. Existing rows keep their user owner. What broke the new rule before it was one is
put right, so that nobody's labels show on somebody else's documents:

- a user's tag on a group's folder or document (before this release members could only tag
  the group's documents with their own tags) becomes the group's tag of the same name, made
  where missing; a document of a group with a member's type gets a copy of that type (its
  fields and values with it) owned by the group;
- another user's tag on a user's folder or document (an editor of a share put it there) is
  taken off; another user's type on a user's document is cleared, with its field values.

The documents this touches are marked for index work (``index_revision``), which the
reconciler does. On SQLite the two tables are rebuilt (it cannot alter a column), with its
foreign keys off (see ``SQLITE_FOREIGN_KEYS_OFF``): dropping a table with them on would first
delete its rows and cascade to the tables that refer to it. Frozen: the SQL below is the
tables as this migration leaves them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from peewee import SQL, Database, ForeignKeyField, Model, NodeList, SqliteDatabase
from playhouse.migrate import SchemaMigrator, migrate

from archivist.core.db import IdField

SQLITE_FOREIGN_KEYS_OFF = True

ONE_OWNER = "CHECK ((owner_user_id IS NULL) <> (owner_group_id IS NULL))"

_SQLITE_TABLES = {
    "tag": (
        '"id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "name" VARCHAR(100) NOT NULL, '
        '"color" VARCHAR(7) NOT NULL, "owner_user_id" INTEGER, "owner_group_id" INTEGER, '
        '"created_at" DATETIME NOT NULL',
        '"id", "name", "color", "owner_user_id", "created_at"',
    ),
    "document_type": (
        '"id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "name" VARCHAR(100) NOT NULL, '
        '"owner_user_id" INTEGER, "owner_group_id" INTEGER, "created_at" DATETIME NOT NULL',
        '"id", "name", "owner_user_id", "created_at"',
    ),
}


class Group(Model):
    id = IdField()

    class Meta:
        table_name = "archivist_group"


def apply(db: Database, migrator: SchemaMigrator) -> None:
    for table in ("tag", "document_type"):
        if isinstance(db, SqliteDatabase):
            _rebuild_sqlite(db, table)
        else:
            owner_group = ForeignKeyField(Group, field=Group.id, null=True, on_delete="CASCADE")
            migrate(
                migrator.drop_not_null(table, "owner_user_id"),
                migrator.add_column(table, "owner_group_id", owner_group),
                migrator.add_index(table, ("owner_group_id", "name"), True),
                migrator.add_constraint(table, f"{table}_one_owner", NodeList([SQL(ONE_OWNER)])),
            )
    touched = _regroup_tags(db) | _regroup_types(db)
    _mark_for_index(db, touched)


def _rebuild_sqlite(db: Database, table: str) -> None:
    columns, kept = _SQLITE_TABLES[table]
    rebuilt = f"{table}__rebuilt"
    (sequence,) = db.execute_sql(
        "SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = ?", (table,)
    ).fetchone()
    db.execute_sql(
        f'CREATE TABLE "{rebuilt}" ({columns}, '
        'FOREIGN KEY ("owner_user_id") REFERENCES "archivist_user" ("id") ON DELETE CASCADE, '
        'FOREIGN KEY ("owner_group_id") REFERENCES "archivist_group" ("id") ON DELETE CASCADE, '
        f'CONSTRAINT "{table}_one_owner" {ONE_OWNER})'
    )
    db.execute_sql(f'INSERT INTO "{rebuilt}" ({kept}) SELECT {kept} FROM "{table}"')
    db.execute_sql(f'DROP TABLE "{table}"')
    db.execute_sql(f'ALTER TABLE "{rebuilt}" RENAME TO "{table}"')
    # Ids are never reused (m0005): the new table goes on from where the old one was.
    if not db.execute_sql(
        "UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = ?", (sequence, table)
    ).rowcount:
        db.execute_sql("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, sequence))
    for owner in ("owner_user_id", "owner_group_id"):
        db.execute_sql(f'CREATE INDEX "{table}_{owner}" ON "{table}" ("{owner}")')
        db.execute_sql(
            f'CREATE UNIQUE INDEX "{table}_{owner}_name" ON "{table}" ("{owner}", "name")'
        )


def _now() -> str:
    """Now as naive UTC, written as Peewee writes it (no driver's datetime adapter needed)."""
    return str(datetime.now(UTC).replace(tzinfo=None))


def _sql(db: Database, sql: str, params: tuple[Any, ...] = ()) -> Any:
    return db.execute_sql(sql.replace("%s", db.param), params)


def _group_tag(db: Database, group_id: int, name: str, color: str) -> int:
    found = _sql(
        db, "SELECT id FROM tag WHERE owner_group_id = %s AND name = %s", (group_id, name)
    ).fetchone()
    if found is None:
        _sql(
            db,
            "INSERT INTO tag (name, color, owner_group_id, created_at) VALUES (%s, %s, %s, %s)",
            (name, color, group_id, _now()),
        )
        found = _sql(
            db, "SELECT id FROM tag WHERE owner_group_id = %s AND name = %s", (group_id, name)
        ).fetchone()
    return int(found[0])


def _regroup_tags(db: Database) -> set[int]:
    """Tags on nodes of another owner: a member's on a group's node become the group's; any
    other user's are taken off. Returns the nodes touched."""
    rows = _sql(
        db,
        "SELECT nt.id, nt.node_id, n.owner_group_id, t.name, t.color FROM node_tag nt"
        " JOIN node n ON n.id = nt.node_id JOIN tag t ON t.id = nt.tag_id"
        " WHERE n.owner_user_id IS NULL OR n.owner_user_id <> t.owner_user_id"
        " ORDER BY nt.id",
    ).fetchall()
    for row_id, node_id, group_id, name, color in rows:
        if group_id is None:
            _sql(db, "DELETE FROM node_tag WHERE id = %s", (row_id,))
            continue
        tag_id = _group_tag(db, group_id, name, color)
        if _sql(
            db, "SELECT 1 FROM node_tag WHERE node_id = %s AND tag_id = %s", (node_id, tag_id)
        ).fetchone():
            _sql(db, "DELETE FROM node_tag WHERE id = %s", (row_id,))
        else:
            _sql(db, "UPDATE node_tag SET tag_id = %s WHERE id = %s", (tag_id, row_id))
    return {int(row[1]) for row in rows}


def _copy_type(db: Database, type_id: int, group_id: int) -> tuple[int, dict[int, int]]:
    """A copy of a user's type owned by the group (named apart from the group's other types);
    returns its id and the copied fields' ids by the originals'."""
    name, username = _sql(
        db,
        "SELECT dt.name, u.username FROM document_type dt"
        " JOIN archivist_user u ON u.id = dt.owner_user_id WHERE dt.id = %s",
        (type_id,),
    ).fetchone()
    # Compared without case: MariaDB's collation would find "invoice" where "Invoice" is.
    taken = {
        row[0].casefold()
        for row in _sql(
            db, "SELECT name FROM document_type WHERE owner_group_id = %s", (group_id,)
        ).fetchall()
    }
    chosen, number = name, 1
    while chosen.casefold() in taken:
        chosen = f"{name} ({username})" if number == 1 else f"{name} ({username} {number})"
        chosen, number = chosen[:100], number + 1
    _sql(
        db,
        "INSERT INTO document_type (name, owner_group_id, created_at) VALUES (%s, %s, %s)",
        (chosen, group_id, _now()),
    )
    (copy_id,) = _sql(
        db,
        "SELECT id FROM document_type WHERE owner_group_id = %s AND name = %s",
        (group_id, chosen),
    ).fetchone()
    fields = {}
    for field_id, field_name, kind, options, position in _sql(
        db,
        "SELECT id, name, kind, options, position FROM custom_field"
        " WHERE document_type_id = %s ORDER BY position",
        (type_id,),
    ).fetchall():
        _sql(
            db,
            "INSERT INTO custom_field (document_type_id, name, kind, options, position)"
            " VALUES (%s, %s, %s, %s, %s)",
            (copy_id, field_name, kind, options, position),
        )
        (fields[field_id],) = _sql(
            db,
            "SELECT id FROM custom_field WHERE document_type_id = %s AND name = %s",
            (copy_id, field_name),
        ).fetchone()
    return int(copy_id), fields


def _regroup_types(db: Database) -> set[int]:
    """Types of another owner on documents: a member's on a group's document becomes a copy
    the group owns (values kept); another user's is cleared. Returns the documents touched."""
    rows = _sql(
        db,
        "SELECT d.node_id, n.owner_group_id, dt.id FROM document d"
        " JOIN node n ON n.id = d.node_id JOIN document_type dt ON dt.id = d.document_type_id"
        " WHERE n.owner_user_id IS NULL OR n.owner_user_id <> dt.owner_user_id"
        " ORDER BY d.node_id",
    ).fetchall()
    copies: dict[tuple[int, int], tuple[int, dict[int, int]]] = {}
    for node_id, group_id, type_id in rows:
        if group_id is None:
            _sql(db, "UPDATE document SET document_type_id = NULL WHERE node_id = %s", (node_id,))
            _sql(db, "DELETE FROM custom_field_value WHERE document_id = %s", (node_id,))
            continue
        if (group_id, type_id) not in copies:
            copies[group_id, type_id] = _copy_type(db, type_id, group_id)
        copy_id, fields = copies[group_id, type_id]
        _sql(db, "UPDATE document SET document_type_id = %s WHERE node_id = %s", (copy_id, node_id))
        for old, new in fields.items():
            _sql(
                db,
                "UPDATE custom_field_value SET field_id = %s"
                " WHERE document_id = %s AND field_id = %s",
                (new, node_id, old),
            )
    return {int(row[0]) for row in rows}


def _mark_for_index(db: Database, nodes: set[int]) -> None:
    for node_id in sorted(nodes):
        _sql(
            db,
            "UPDATE document SET index_revision = index_revision + 1 WHERE node_id = %s",
            (node_id,),
        )
