"""The folder change feed (``nodeEvents``) and the document on progress events.

A subscriber names a folder; the feed is its owner's Redis stream (see
:mod:`archivist.core.node_events`), read with ``XREAD`` from the position the client resumes
after. Each batch of events is checked against the viewer when it is delivered, never a verdict
kept across events: the folder must still be theirs to read (else the feed ends) and so must
each node (else its event is left out; DELETED carries no node).
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any

from ariadne import ObjectType, SubscriptionType
from graphql import GraphQLError, GraphQLResolveInfo
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from archivist.core import node_events
from archivist.core.db import run_db, utcnow
from archivist.core.errors import NotFound
from archivist.core.ids import global_id
from archivist.core.models import Node
from archivist.core.nodes import get_node
from archivist.core.permissions import readable_by
from archivist.core.users import Viewer
from archivist.graphql.context import Context, require_viewer
from archivist.graphql.nodes import type_name

subscription = SubscriptionType()
progress_event_type = ObjectType("ProgressEvent")

SEQUENCE = re.compile(r"\d{1,20}-\d{1,20}")
BATCH = 500  # stream entries read (and checked with one query) at most at a time
BLOCK_MS = 5000


def _position(sequence: str) -> tuple[int, int]:
    milliseconds, _, number = sequence.partition("-")
    return int(milliseconds), int(number or 0)


def _folder(viewer: Viewer, folder_id: str) -> Node:
    node = get_node(viewer, folder_id)
    if node.kind != Node.FOLDER:
        raise NotFound("folder", "folderId")
    return node


def _check(viewer: Viewer, folder_id: int, node_ids: set[int]) -> tuple[bool, dict[int, Node]]:
    """Whether the viewer may still read the folder, and the nodes of ``node_ids`` they may
    read now (one query for all)."""
    wanted = node_ids | {folder_id}
    found = {n.id: n for n in Node.select().where(Node.id.in_(wanted) & readable_by(viewer))}
    return folder_id in found, found


async def _start(client: Redis, key: str, after: str | None) -> tuple[str, bool]:
    """Where to read the stream from, and whether the client must load the folder again
    (its ``after`` is older than what the stream keeps, or from a stream Redis lost)."""
    try:
        info: Any = await client.xinfo_stream(key)
    except ResponseError:  # no stream yet (or Redis was flushed): it starts empty
        return "0-0", after is not None and after != "0-0"
    last = str(info["last-generated-id"])
    if after is None:
        return last, False
    # Trimming drops the oldest entries: with some gone, a position before the first entry
    # kept may have missed them (kept conservative: the client reloads, nothing is lost).
    first = str(info["first-entry"][0]) if info.get("first-entry") else last
    trimmed = int(info.get("entries-added", info["length"])) > int(info["length"])
    if _position(after) > _position(last) or (trimmed and _position(after) < _position(first)):
        return last, True
    return after, False


def _event(kind: str, sequence: str, **values: Any) -> dict[str, Any]:
    return {"kind": kind, "sequence": sequence, "node": None, "node_id": None,
            "folder_id": None, "from_folder_id": None, "at": utcnow(), **values}  # fmt: skip


@subscription.source("nodeEvents")
async def node_events_source(
    _: Any, info: GraphQLResolveInfo, folder_id: str, after: str | None = None
) -> AsyncGenerator[dict[str, Any], None]:
    context: Context = info.context
    viewer = require_viewer(info)
    if after is not None and not SEQUENCE.fullmatch(after):
        raise GraphQLError(
            "`after` takes a sequence from an earlier event, e.g. 1717171717171-0.",
            extensions={"code": "INVALID_SEQUENCE"},
        )
    try:
        folder = await run_db(_folder, viewer, folder_id)
    except NotFound as error:
        raise GraphQLError(error.message, extensions={"code": error.code}) from None
    if context.settings.redis_url is None:
        raise GraphQLError("The change feed needs Redis.", extensions={"code": "QUEUE_UNAVAILABLE"})
    client = Redis.from_url(
        context.settings.redis_url, decode_responses=True, socket_timeout=BLOCK_MS / 1000 + 30
    )
    try:
        key = node_events.stream_key(client, node_events.owner_of(folder))
        position, resync = await _start(client, key, after)
        yield _event(
            "RESYNC" if resync else "SUBSCRIBED", position, folder_id=global_id("Folder", folder.id)
        )
        while True:
            reply: Any = await client.xread({key: position}, count=BATCH, block=BLOCK_MS)
            if not reply:
                continue
            entries: list[tuple[str, dict[str, str]]] = reply[0][1]
            position = entries[-1][0]
            mine = [
                (sequence, fields)
                for sequence, fields in entries
                if str(folder.id) in (fields.get("folder"), fields.get("from"))
            ]
            if not mine:
                continue
            ids = {int(fields["node"]) for _, fields in mine}
            still_readable, nodes = await run_db(_check, viewer, folder.id, ids)
            if not still_readable:
                return  # the folder is gone or no longer the viewer's: the feed ends
            for sequence, fields in mine:
                node = nodes.get(int(fields["node"]))
                kind = fields["kind"]
                if node is None and kind != node_events.DELETED:
                    continue  # not the viewer's to see now
                # Global ids; a node gone for good has no type left to name (nodeId null).
                yield _event(
                    kind.upper(), sequence, node=node,
                    node_id=global_id(str(type_name(node)), node.id) if node else None,
                    folder_id=_folder_gid(fields.get("folder")),
                    from_folder_id=_folder_gid(fields.get("from")),
                    at=datetime.fromisoformat(fields["at"].rstrip("Z")),
                )  # fmt: skip
    finally:
        await client.aclose()


def _folder_gid(value: str | None) -> str | None:
    return global_id("Folder", int(value)) if value else None


@subscription.field("nodeEvents")
def resolve_node_event(event: dict[str, Any], info: GraphQLResolveInfo, **_: Any) -> Any:
    # The request's loaders live as long as the subscription: each event reads afresh.
    context: Context = info.context
    context.loaders = {}
    return event


@progress_event_type.field("document")
async def resolve_progress_document(event: dict[str, Any], info: GraphQLResolveInfo) -> Any:
    """The event's document as it is now (null once the viewer may not read it)."""
    context: Context = info.context
    context.loaders = {}  # per event, as above: a status read at the last event is stale
    viewer = require_viewer(info)

    def load() -> Node | None:
        return (
            Node.select()
            .where((Node.id == int(event["document_id"])) & readable_by(viewer))
            .first()
        )

    return await run_db(load)


bindables = [subscription, progress_event_type]
