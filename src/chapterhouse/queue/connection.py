"""Redis connections for RQ, made from Settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from redis import Redis
from redis.exceptions import RedisError

from chapterhouse.config import Settings
from chapterhouse.errors import QueueUnavailableError

if TYPE_CHECKING:
    from redis.asyncio import Redis as AsyncRedis
    from rq import Queue


def make_redis(settings: Settings) -> Redis:
    """A client for REDIS_URL with short timeouts, so a dead Redis is reported, not waited on."""
    return Redis.from_url(
        settings.redis_url, socket_connect_timeout=3, socket_timeout=10, health_check_interval=30
    )


def make_async_redis(settings: Settings) -> AsyncRedis:
    """`make_redis` for asyncio code (the API's submissions): the same URL and timeouts."""
    from redis.asyncio import Redis as AsyncRedis

    return AsyncRedis.from_url(
        settings.redis_url, socket_connect_timeout=3, socket_timeout=10, health_check_interval=30
    )


def redis_answers(settings: Settings) -> bool:
    """True when Redis at REDIS_URL answers a ping."""
    client = make_redis(settings)
    try:
        return bool(client.ping())
    except RedisError:
        return False
    finally:
        client.close()


def ping(redis: Redis) -> None:
    """Raise QueueUnavailableError unless Redis answers."""
    try:
        redis.ping()
    except RedisError as exc:
        raise QueueUnavailableError(f"Redis does not answer: {exc}") from None


def count_workers(redis: Redis, queue: Queue) -> int:
    """Workers registered for this queue."""
    from rq import Worker

    try:
        return Worker.count(connection=redis, queue=queue)
    except RedisError as exc:
        raise QueueUnavailableError(f"Redis does not answer: {exc}") from None
