"""Redis: the queue that delivers work to the workers (the database stays the truth)."""

from __future__ import annotations

from redis import Redis
from redis.exceptions import RedisError

from archivist.core.settings import Settings, SettingsError


def redis_connection(settings: Settings) -> Redis:
    """A client for the configured Redis; raises SettingsError when none is configured."""
    if settings.redis_url is None:
        raise SettingsError(
            "ARCHIVIST_REDIS_URL: not set (scripts/run starts a Redis of its own; "
            "otherwise set it to redis://host:6379/0)"
        )
    return Redis.from_url(settings.redis_url, socket_connect_timeout=5, health_check_interval=30)


def check_redis(settings: Settings) -> None:
    """Ping Redis once; raises SettingsError naming ARCHIVIST_REDIS_URL when it cannot."""
    try:
        redis_connection(settings).ping()
    except RedisError as error:
        raise SettingsError(
            f"ARCHIVIST_REDIS_URL: cannot connect to {settings.redis_url}: {error}"
        ) from error
