"""Numbered migrations: ``mNNNN_name.py`` modules, each with ``apply(db, migrator)``.

A migration is frozen once it has landed: it defines the tables as they were at that point
(never importing today's models), so that running every migration from an empty database gives
the schema the models describe today. ``archivist migrate`` runs the ones not yet applied, in
order, each in a transaction where the database supports transactional DDL.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from types import ModuleType

from peewee import Database, SqliteDatabase
from playhouse.migrate import SchemaMigrator

from archivist.core.models import Migration


@dataclass(frozen=True)
class MigrationStep:
    number: int
    name: str
    module: ModuleType


def all_migrations() -> list[MigrationStep]:
    """Every migration module in this package, in order of its number."""
    steps = []
    for info in pkgutil.iter_modules(__path__):
        if not (info.name.startswith("m") and info.name[1:5].isdigit()):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        steps.append(MigrationStep(int(info.name[1:5]), info.name[6:], module))
    steps.sort(key=lambda step: step.number)
    numbers = [step.number for step in steps]
    if numbers != list(range(1, len(steps) + 1)):
        raise RuntimeError(f"migration numbers must run 1, 2, 3, ... without gaps: {numbers}")
    return steps


def applied_numbers(db: Database) -> set[int]:
    """Numbers of the migrations already applied to ``db``."""
    if not db.table_exists(Migration._meta.table_name):
        return set()
    return {row.number for row in Migration.select(Migration.number)}


def migrate(db: Database) -> list[str]:
    """Bring ``db`` to the current schema; returns the names of the migrations it applied.

    A migration module that sets ``SQLITE_FOREIGN_KEYS_OFF = True`` (one that rebuilds
    tables) runs on SQLite with foreign keys off, and must leave no dangling reference:
    ``RuntimeError`` then, and the migration is rolled back.
    """
    with db.bind_ctx([Migration]):
        if not db.table_exists(Migration._meta.table_name):
            db.create_tables([Migration])
        done = applied_numbers(db)
        applied = []
        migrator = SchemaMigrator.from_database(db)
        for step in all_migrations():
            if step.number in done:
                continue
            # SQLite ignores this pragma inside a transaction, so it is set around it.
            foreign_keys_off = isinstance(db, SqliteDatabase) and getattr(
                step.module, "SQLITE_FOREIGN_KEYS_OFF", False
            )
            if foreign_keys_off:
                db.execute_sql("PRAGMA foreign_keys = OFF")
            try:
                with db.atomic():
                    step.module.apply(db, migrator)
                    if foreign_keys_off:
                        _check_foreign_keys(db, step)
                    Migration.create(number=step.number, name=step.name)
            finally:
                if foreign_keys_off:
                    db.execute_sql("PRAGMA foreign_keys = ON")
            applied.append(f"{step.number:04d}_{step.name}")
        return applied


def _check_foreign_keys(db: Database, step: MigrationStep) -> None:
    broken = db.execute_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(
            f"migration {step.number:04d}_{step.name} left {len(broken)} broken foreign"
            f" key(s), e.g. {tuple(broken[0])}"
        )
