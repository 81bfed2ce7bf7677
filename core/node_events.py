"""The change feed of folders: what happened to which node, in which folder, in order.

Every change to the tree (a node created, renamed or otherwise updated, moved, trashed,
restored, deleted for good) is appended to a Redis stream per owner (a user, or a group for its
folders) after its transaction commits. An entry's stream id is its sequence: a client that
reconnects reads on from the last sequence it saw (``XREAD`` from that id). Streams keep the
latest :data:`STREAM_LENGTH` entries; a client that asks for an older position, or one Redis no
longer knows (flushed), is told to load the folder again (``RESYNC``). Like progress, the feed
is a view of the database, never the truth: publishing never fails a change.

A change is found by comparing the nodes' state before and after the change
(:func:`node_states`, :func:`changes_between`), so every mutation describes itself the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from redis import Redis
from redis.asyncio import Redis as RedisAsync
from redis.exceptions import RedisError

from archivist.core.db import utcnow
from archivist.core.models import Node

logger = logging.getLogger("archivist.node_events")

STREAM_LENGTH = 10_000  # entries kept per owner (approximately: Redis trims whole blocks)

CREATED = "created"
UPDATED = "updated"
MOVED = "moved"
TRASHED = "trashed"
RESTORED = "restored"
DELETED = "deleted"


def owner_of(node: Node) -> str:
    """The stream a node's changes go to: its owner's."""
    if node.owner_user_id is not None:
        return f"user:{node.owner_user_id}"
    return f"group:{node.owner_group_id}"


def stream_key(connection: Redis | RedisAsync, owner: str) -> str:
    """The owner's stream, in the Redis database this connection uses."""
    return f"archivist:nodes:{connection.connection_pool.connection_kwargs.get('db', 0)}:{owner}"


@dataclass(frozen=True)
class NodeState:
    node_id: int
    owner: str
    parent_id: int | None  # None in the trash
    trashed_from: int | None


@dataclass(frozen=True)
class NodeChange:
    """One change: ``folder_id`` is the folder the node is in now (for TRASHED and DELETED,
    the one it left); ``from_folder_id`` the one a MOVED node left."""

    kind: str
    node_id: int
    owner: str
    folder_id: int | None
    from_folder_id: int | None = None

    def fields(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "node": str(self.node_id),
            "folder": "" if self.folder_id is None else str(self.folder_id),
            "from": "" if self.from_folder_id is None else str(self.from_folder_id),
            "at": utcnow().isoformat() + "Z",
        }


def node_states(ids: Iterable[int]) -> dict[int, NodeState]:
    """Where each of these nodes is now (one query; missing ids are gone)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = Node.select(
        Node.id, Node.owner_user, Node.owner_group, Node.parent, Node.trashed_from
    ).where(Node.id.in_(wanted))
    return {
        row.id: NodeState(row.id, owner_of(row), row.parent_id, row.trashed_from) for row in rows
    }


def changes_between(
    before: Mapping[int, NodeState], after: Mapping[int, NodeState]
) -> list[NodeChange]:
    """What happened to each node between two snapshots (of the nodes a change touched)."""
    found: list[NodeChange] = []
    for node_id in sorted(set(before) | set(after)):
        old, new = before.get(node_id), after.get(node_id)
        if new is None:
            if old is not None:
                left = old.parent_id if old.parent_id is not None else old.trashed_from
                found.append(NodeChange(DELETED, node_id, old.owner, left))
        elif old is None:
            if new.parent_id is not None:
                found.append(NodeChange(CREATED, node_id, new.owner, new.parent_id))
        elif old.parent_id is not None and new.parent_id is None:
            found.append(NodeChange(TRASHED, node_id, new.owner, old.parent_id))
        elif old.parent_id is None and new.parent_id is not None:
            found.append(NodeChange(RESTORED, node_id, new.owner, new.parent_id))
        elif old.parent_id != new.parent_id:
            found.append(NodeChange(MOVED, node_id, new.owner, new.parent_id, old.parent_id))
        elif new.parent_id is not None:
            found.append(NodeChange(UPDATED, node_id, new.owner, new.parent_id))
    return found


def publish(connection: Redis | None, changes: Iterable[NodeChange]) -> None:
    """Append the changes to their owners' streams (after the change's commit); a Redis
    failure is logged, never raised."""
    listed = list(changes)
    if connection is None or not listed:
        return
    try:
        with connection.pipeline(transaction=False) as pipe:
            for change in listed:
                pipe.xadd(
                    stream_key(connection, change.owner), change.fields(),  # type: ignore[arg-type]
                    maxlen=STREAM_LENGTH, approximate=True,
                )  # fmt: skip
            pipe.execute()
    except RedisError as error:
        logger.warning("could not publish %d folder change(s): %s", len(listed), error)


def publish_updated(connection: Redis | None, node_ids: Iterable[int], kind: str = UPDATED) -> None:
    """Publish ``kind`` (UPDATED: changed in place, e.g. a document became ready; CREATED)
    for live nodes, as they are now."""
    states = node_states(node_ids)
    publish(
        connection,
        [
            NodeChange(kind, state.node_id, state.owner, state.parent_id)
            for state in states.values()
            if state.parent_id is not None
        ],
    )
