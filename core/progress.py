"""Progress events: every processing step publishes one through Redis pub/sub.

The API relays them to GraphQL subscriptions, after checking the subscriber may see the
document. Publishing never fails a job: progress is a view of the database, and a subscriber
that missed events reads the current state when it (re)connects.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from redis import Redis
from redis.asyncio import Redis as RedisAsync
from redis.exceptions import RedisError

from archivist.core.db import utcnow


def channel(connection: Redis | RedisAsync) -> str:
    """The progress channel of the Redis database this connection uses.

    Redis pub/sub ignores database numbers, so two Archivists sharing one Redis server on
    different databases would otherwise hear each other's events.
    """
    return f"archivist:progress:{connection.connection_pool.connection_kwargs.get('db', 0)}"


QUEUED = "queued"
STARTED = "started"
PAGE_DONE = "page_done"
PAGE_FAILED = "page_failed"
READY = "ready"
FAILED = "failed"

logger = logging.getLogger("archivist.progress")


@dataclass(frozen=True)
class ProgressEvent:
    document_id: int
    status: str
    pages_done: int
    pages_total: int
    page_number: int | None = None
    message: str | None = None
    worker: str | None = None
    at: str = field(default_factory=lambda: utcnow().isoformat() + "Z")

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, data: str | bytes) -> ProgressEvent:
        values: dict[str, Any] = json.loads(data)
        return cls(**values)


def publish(connection: Redis | None, event: ProgressEvent) -> None:
    """Publish ``event``; a Redis failure is logged, never raised."""
    if connection is None:
        return
    try:
        connection.publish(channel(connection), event.to_json())
    except RedisError as error:
        logger.warning("could not publish progress for document %s: %s", event.document_id, error)
