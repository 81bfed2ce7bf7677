"""Ids are never handed out twice, on every database: a purged row's id stays dead."""

from __future__ import annotations

from typing import Any

from archivist.core.db import database
from archivist.core.models import Node, Tag, User
from archivist.core.settings import Settings


def test_a_purged_rows_id_goes_to_no_later_row(settings: Settings, make_user: Any) -> None:
    alice = make_user("alice")
    with database.connection_context():
        last = Node.create(kind=Node.FOLDER, title="purged soon", owner_user=alice.id)
        tag = Tag.create(name="purged soon", owner_user=alice.id, color="#000000")
        Node.delete_by_id(last.id)  # the highest id: SQLite without AUTOINCREMENT reuses it
        Tag.delete_by_id(tag.id)
        assert Node.create(kind=Node.FOLDER, title="next", owner_user=alice.id).id > last.id
        assert Tag.create(name="next", owner_user=alice.id, color="#000000").id > tag.id
    dead = make_user("bob")
    with database.connection_context():
        User.delete_by_id(dead.id)
    assert make_user("carol").id > dead.id
