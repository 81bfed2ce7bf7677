"""Making a new version of a document: the one place that numbers versions.

A version is numbered one past the version it was made from. Two requests that start from the
same version (two ``reprocessDocument`` calls, a page edit racing a retry) would both take the
same number; the database's unique (document, number) index lets one win, and the other gets
the coded error a person understands instead of an internal error.
"""

from __future__ import annotations

from typing import Any

from peewee import IntegrityError

from archivist.core.db import database
from archivist.core.errors import UserFacingError
from archivist.core.models import DocumentVersion, Node

BUSY_MESSAGE = "This document is being processed or changed; wait until it is done."


def add_version(after: DocumentVersion, field: str | None = None, **values: Any) -> DocumentVersion:
    """Create the version that follows ``after`` (same document, next number).

    Raises UserFacingError(DOCUMENT_PROCESSING) when another request made that version first;
    call it inside the caller's transaction, which then rolls back whole.
    """
    if database.for_update:
        # Server databases: take the document's node row first, so two requests making a
        # version queue here. Without it MariaDB deadlocks instead: each insert takes a shared
        # lock on the node row (foreign key), then the winner's update of the node waits on the
        # loser, and InnoDB rolls the loser's whole transaction back (its savepoint with it).
        # SQLite's transactions begin IMMEDIATE and already hold the only write lock.
        Node.select(Node.id).where(Node.id == after.document_id).for_update().execute()
    try:
        # A savepoint of its own: on PostgreSQL a failed statement spoils the transaction
        # around it, and the caller's rollback must still work.
        with database.atomic():
            version: DocumentVersion = DocumentVersion.create(
                document=after.document_id, number=after.number + 1, **values
            )
    except IntegrityError:
        raise UserFacingError("DOCUMENT_PROCESSING", BUSY_MESSAGE, field) from None
    return version
