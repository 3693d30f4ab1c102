"""GET /health against live, and deliberately unreachable, PostgreSQL and Redis."""

from __future__ import annotations

from redis import Redis
from rq import Queue, Worker

from chapterhouse.config import Settings
from tests.api import api_client

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"
UNREACHABLE_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:1/x"


def test_healthy_when_database_and_redis_answer(settings: Settings) -> None:
    with api_client(settings) as client:
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "healthy",
        "checks": {"database": "ok", "redis": "ok", "workers": 0},
    }


def test_counts_registered_workers(settings: Settings) -> None:
    redis = Redis.from_url(settings.redis_url)
    worker = Worker([Queue(settings.queue_name, connection=redis)], connection=redis)
    worker.register_birth()
    try:
        with api_client(settings) as client:
            assert client.get("/health").json()["checks"]["workers"] == 1
    finally:
        worker.register_death()
        redis.close()


def test_unhealthy_when_redis_is_unreachable(settings: Settings) -> None:
    down = settings.model_copy(update={"redis_url": UNREACHABLE_REDIS})
    with api_client(down) as client:
        response = client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("unavailable")
    assert body["checks"]["workers"] == 0


def test_unhealthy_when_the_database_is_unreachable(settings: Settings) -> None:
    down = settings.model_copy(update={"database_url": UNREACHABLE_DATABASE})
    with api_client(down) as client:
        response = client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["checks"]["database"].startswith("unavailable")
    assert (body["checks"]["redis"], body["checks"]["workers"]) == ("ok", 0)
