"""Progress events stay within their Redis database (pub/sub itself ignores database numbers)."""

from __future__ import annotations

from redis import Redis
from support import default_redis_url

from archivist.core.progress import ProgressEvent, channel, publish


def _other_db(url: str) -> str:
    base, _, db = url.rpartition("/")
    return f"{base}/{(int(db or 0) + 1) % 16}"


def test_events_reach_only_the_same_database() -> None:
    mine = Redis.from_url(default_redis_url())
    other = Redis.from_url(_other_db(default_redis_url()))
    assert channel(mine) != channel(other)
    listeners = {}
    for name, connection in (("mine", mine), ("other", other)):
        pubsub = connection.pubsub()
        pubsub.subscribe(channel(connection))
        assert pubsub.get_message(timeout=2)["type"] == "subscribe"
        listeners[name] = pubsub
    publish(mine, ProgressEvent(document_id=7, status="queued", pages_done=0, pages_total=1))
    received = listeners["mine"].get_message(timeout=2)
    assert ProgressEvent.from_json(received["data"]).document_id == 7
    assert listeners["other"].get_message(timeout=0.5) is None
    for pubsub in listeners.values():
        pubsub.close()
    mine.close()
    other.close()
