"""SQLite: a transaction that reads, then writes, never fails while another writer commits.

A deferred ``BEGIN`` takes a read snapshot; if another connection commits before the first
write, SQLite cannot upgrade that snapshot and answers "database is locked" at once, whatever
the busy timeout (an upload failed that way while a worker marked pages done). Write
transactions therefore begin with ``BEGIN IMMEDIATE`` and wait their turn instead.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from archivist.core.db import database
from archivist.core.models import Node
from archivist.core.settings import Settings


def test_read_then_write_transaction_waits_for_a_concurrent_writer(
    settings: Settings, make_user: Any
) -> None:
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("server databases lock rows, not the whole file")
    owner = make_user("alice")
    reading = threading.Event()
    errors: list[BaseException] = []

    def other_writer() -> None:  # a worker's write, from its own connection
        reading.wait(10)
        try:
            with database.connection_context():
                Node.create(kind=Node.FOLDER, title="by the worker", owner_user=owner.id)
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=other_writer)
    thread.start()
    try:
        with database.connection_context(), database.atomic():
            before = Node.select().where(Node.owner_user == owner.id).count()  # the read
            reading.set()
            time.sleep(0.5)  # the other writer tries now (and waits, or commits first)
            Node.create(kind=Node.FOLDER, title=f"upload after {before}", owner_user=owner.id)
    finally:
        thread.join(20)
    assert errors == []
    with database.connection_context():
        titles = {node.title for node in Node.select().where(Node.owner_user == owner.id)}
    assert {"by the worker", "upload after 2"} <= titles  # Home and Inbox came first
