"""The database: one URL picks SQLite, PostgreSQL or MySQL/MariaDB.

Models bind to :data:`database`, a proxy initialised by :func:`configure_database`. Peewee keeps
one connection per thread, so no connection is ever shared across threads; the server databases
use a connection pool. Async code runs database work with :func:`run_db`, in a worker thread,
so the event loop never blocks on a query.

On SQLite a worker thread of :func:`run_db` keeps its connection open between calls: opening
one and setting its pragmas costs more than answering a small query, and the connection is the
thread's own (Peewee's are per thread), so nothing is shared. Outside a transaction an open
SQLite connection holds no lock and no snapshot, so it sees every commit at its next statement;
it is opened again when the database file was moved or replaced meanwhile (a restore, an
outage), so it never goes on with a file that is no longer the database. The server databases
give their connections back to the pool after every call, as before.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any, ParamSpec, TypeVar, cast
from urllib.parse import parse_qsl, unquote, urlsplit

from peewee import (
    SQL,
    AutoField,
    Database,
    DatabaseProxy,
    NodeList,
    SqliteDatabase,
    TextField,
)
from peewee import DateField as PeeweeDateField
from peewee import DateTimeField as PeeweeDateTimeField
from playhouse.pool import PooledMySQLDatabase, PooledPostgresqlDatabase

from archivist.core.settings import SettingsError

P = ParamSpec("P")
T = TypeVar("T")

database = DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",  # readers do not block the writer
    "foreign_keys": 1,
    "busy_timeout": 10000,  # wait for a writer instead of failing with "database is locked"
    "synchronous": "normal",
}


class LongTextField(TextField):
    """Text of any length: MySQL's TEXT stops at 64 KiB, so it gets LONGTEXT there."""

    field_type = "LONGTEXT"


class DateTimeField(PeeweeDateTimeField):
    """Peewee's DateTimeField, read faster from SQLite's text.

    Peewee tries ``strptime`` with one format after another (two tries for a time without
    microseconds); ``fromisoformat`` reads both forms at a tenth of the cost, which counts
    in a listing of a hundred rows. Anything else (PostgreSQL's and MySQL's drivers hand
    over datetimes already; a value with an offset) is read as Peewee reads it.
    """

    def python_value(self, value: Any) -> Any:
        if isinstance(value, str) and 10 <= len(value) <= 26:
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                return super().python_value(value)
            if parsed.tzinfo is None:
                return parsed
        return super().python_value(value)


class DateField(PeeweeDateField):
    """Peewee's DateField, read faster from SQLite's text (see :class:`DateTimeField`)."""

    def python_value(self, value: Any) -> Any:
        if isinstance(value, str) and len(value) == 10:
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        return super().python_value(value)


# PostgreSQL and SQLite have no LONGTEXT; their TEXT has no such limit.
LONGTEXT_AS_TEXT = {"LONGTEXT": "TEXT"}

# Only SQLite needs a keyword after an :class:`IdField`'s PRIMARY KEY (read by its DDL).
ID_SUFFIX = "ID_SUFFIX"
SQLITE_FIELD_TYPES = {**LONGTEXT_AS_TEXT, ID_SUFFIX: "AUTOINCREMENT"}


class IdField(AutoField):
    """An auto-incrementing primary key whose values are never handed out twice.

    An id names a thing in URLs, search entries and progress events; if a purged row's id
    went to the next insert, anything still holding the old id would reach someone else's
    row. SQLite hands the highest id out again after its row is deleted unless the key is
    declared ``AUTOINCREMENT``; PostgreSQL sequences and MariaDB's ``AUTO_INCREMENT``
    (persisted across restarts since MariaDB 10.2.4) never go back.
    """

    def ddl(self, ctx: Any) -> NodeList:
        ddl: NodeList = super().ddl(ctx)
        suffix = ctx.state.field_types.get(ID_SUFFIX)
        return NodeList((ddl, SQL(suffix))) if suffix else ddl


def utcnow() -> datetime:
    """Now, as the naive UTC datetime that every DateTimeField stores."""
    return datetime.now(UTC).replace(tzinfo=None)


def sqlite_path(url: str) -> str | None:
    """The file an ``sqlite:///`` URL names (``:memory:`` when none); None for other schemes."""
    parts = urlsplit(url)
    if parts.scheme.split("+", 1)[0] != "sqlite":
        return None
    path = unquote(parts.path)
    # sqlite:///relative/path and sqlite:////absolute/path both name a file.
    path = path[1:] if path.startswith("//") else path
    return path or ":memory:"


def open_database(url: str, *, max_connections: int = 20) -> Database:
    """Build (not connect) the peewee Database for ``url``.

    Raises :class:`SettingsError` naming ARCHIVIST_DATABASE_URL for an unknown scheme.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    options: dict[str, Any] = dict(parse_qsl(parts.query))
    path = sqlite_path(url)
    if path is not None:
        # BEGIN IMMEDIATE: a transaction takes the write lock when it starts, waiting up to
        # busy_timeout for it. A deferred BEGIN reads a snapshot first; when another
        # connection commits before its first write, SQLite cannot upgrade that snapshot
        # and fails at once with "database is locked", whatever the busy timeout.
        return SqliteDatabase(
            path, pragmas=SQLITE_PRAGMAS, field_types=SQLITE_FIELD_TYPES, lock_type="IMMEDIATE"
        )
    common: dict[str, Any] = {
        "host": parts.hostname or "127.0.0.1",
        "user": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "max_connections": int(options.pop("max_connections", max_connections)),
        "stale_timeout": 300,
        "timeout": 30,  # wait this long for a free pooled connection
    }
    name = parts.path.strip("/")
    if scheme in ("postgresql", "postgres"):
        return PooledPostgresqlDatabase(
            name,
            port=parts.port or 5432,
            field_types=LONGTEXT_AS_TEXT,
            **_without_none(common),
            **options,
        )
    if scheme == "mysql":
        mysql = _without_none(common)
        if "password" in mysql:
            mysql["passwd"] = mysql.pop("password")
        return PooledMySQLDatabase(
            name, port=parts.port or 3306, charset="utf8mb4", **mysql, **options
        )
    raise SettingsError(f"ARCHIVIST_DATABASE_URL: unknown database scheme {parts.scheme!r}")


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def configure_database(url: str) -> Database:
    """Point every model at the database named by ``url``; returns it."""
    if database.obj is not None and not database.is_closed():
        database.close()
    if isinstance(database.obj, PooledPostgresqlDatabase | PooledMySQLDatabase):
        database.obj.close_all()
    db = open_database(url)
    database.initialize(db)
    return db


def check_database() -> None:
    """Connect once, run a trivial query; raises SettingsError naming the variable on failure."""
    try:
        with database.connection_context():
            database.execute_sql("SELECT 1")
    except Exception as error:  # any driver error: the message is what the user needs
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise SettingsError(f"ARCHIVIST_DATABASE_URL: cannot connect: {first_line}") from error


def with_connection(function: Callable[P, T]) -> Callable[P, T]:
    """Decorate ``function`` so it runs inside a connection it opens and gives back."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        with database.connection_context():
            return function(*args, **kwargs)

    return wrapper


# SQL of the queries run for every request, by (kind of database, name): see execute_cached.
_CACHED_SQL: dict[tuple[type, str], tuple[str, int]] = {}


def execute_cached(name: str, build: Callable[[Any], Any], value: Any, sentinel: Any) -> Any:
    """Run the query ``build(value)`` and return its cursor, its SQL built by Peewee once per
    kind of database (with ``sentinel`` in ``value``'s place) and kept under ``name``.

    For the few queries every request runs (the token check): composing their SQL costs
    Peewee more than the database takes to answer. Every parameter of the query must be the
    one value; anything else raises ValueError when the SQL is first built.
    """
    key = (type(database.obj), name)
    found = _CACHED_SQL.get(key)
    if found is None:
        sql, params = build(sentinel).sql()
        if any(param != sentinel for param in params):
            raise ValueError(f"{name}: every parameter must be the one value")
        found = _CACHED_SQL[key] = (sql, len(params))
    sql, count = found
    return database.execute_sql(sql, [value] * count)


# Stands for the typed text while a query's SQL is composed (see select_cached).
_TYPED = "\x00archivist-typed\x00"


def select_cached(build: Callable[..., Any], typed: str, *key: Any) -> list[Any]:
    """The rows of the Peewee select ``build(typed, *key)``, its SQL composed once per kind
    of database and ``key`` (hashable: a Viewer, a limit) and kept for the last 4,096.

    For queries that run as someone types (a search box's suggestions): only ``typed``
    changes between them, and composing a query whose access clause covers many groups
    costs Peewee more than the database takes to answer it. ``typed`` may stand in the query
    only inside LIKE patterns (``startswith``, ``contains``); text that Peewee escapes for
    LIKE (``%``, ``_``, a backslash) changes the SQL, so such a query is composed anew.
    """
    if any(char in typed for char in "%_\\\x00"):
        return list(build(typed, *key))
    sql, params, model = _composed(type(database.obj).__name__, build, *key)
    values = [
        param.replace(_TYPED, typed) if isinstance(param, str) and _TYPED in param else param
        for param in params
    ]
    return list(model.raw(sql, *values))


@functools.lru_cache(maxsize=4_096)
def _composed(_kind: str, build: Callable[..., Any], *key: Any) -> tuple[str, tuple[Any, ...], Any]:
    query = build(_TYPED, *key)
    sql, params = query.sql()
    return sql, tuple(params), query.model


# Stand for the ids of an IN list while a query's SQL is composed (see select_in).
_ID_SENTINEL = -(2**52)


def select_in(build: Callable[[list[int]], Any], ids: Sequence[int]) -> Any:
    """``build(ids)`` (a Peewee select whose only values are ``ids``, in an IN list) as a raw
    query with the same SQL, composed once per kind of database, ``build`` and number of ids
    (the last 4,096 kept): a listing runs such queries for its rows on every request, and
    Peewee composes their SQL in more time than the database answers them. Returns a query
    to iterate (model rows) or ask ``.tuples()`` of, as ``build``'s own would.
    """
    sql, params, model, slots = _composed_in(type(database.obj).__name__, build, len(ids))
    values = list(params)
    for position, value in zip(slots, ids, strict=True):
        values[position] = value
    return model.raw(sql, *values)


@functools.lru_cache(maxsize=4_096)
def _composed_in(
    _kind: str, build: Callable[[list[int]], Any], count: int
) -> tuple[str, tuple[Any, ...], Any, tuple[int, ...]]:
    sentinels = [_ID_SENTINEL - index for index in range(count)]
    query = build(sentinels)
    sql, params = query.sql()
    where = {value: position for position, value in enumerate(params) if value in sentinels}
    if sorted(where) != sorted(sentinels) or len(where) != sum(v in sentinels for v in params):
        raise ValueError(f"select_in: {build.__name__} must use each id once, in one IN list")
    return sql, tuple(params), query.model, tuple(where[value] for value in sentinels)


def _file_identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of the database file; None when it cannot be read (or in memory)."""
    if path == ":memory:" or path.startswith("file:"):
        return None
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (found.st_dev, found.st_ino)


def _in_thread_connection(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``function`` on this thread's connection: on SQLite kept open for the next call
    (see the module), elsewhere taken from the pool and given back."""
    db = database.obj
    if not isinstance(db, SqliteDatabase):
        with database.connection_context():
            return function(*args, **kwargs)
    state: Any = cast(Any, db)._state  # Peewee's per-thread connection state
    opened_in = getattr(state, "archivist_pid", None)
    if opened_in is not None and opened_in != os.getpid():
        # Opened before a fork: SQLite connections must not cross one; start afresh.
        state.reset()
    state.archivist_pid = os.getpid()
    identity = _file_identity(db.database)
    if not db.is_closed() and identity != getattr(state, "archivist_file", None):
        # The file was moved, replaced (a restored backup) or is gone: an open connection
        # would go on with the old one. Open the path again (and fail as any request would).
        db.close()
    if db.is_closed():
        db.connect()
        state.archivist_file = identity
    return function(*args, **kwargs)


async def run_db(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run database work in a worker thread, inside a connection, without blocking the loop."""
    call = functools.partial(_in_thread_connection, function, *args, **kwargs)
    return await asyncio.to_thread(call)
