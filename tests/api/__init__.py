"""API tests: a real app on the test database and Redis, driven through TestClient."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient

from chapterhouse.api.app import create_app
from chapterhouse.config import Settings

QUEUE_KEY = "rq:queue:ingestion"
MOTHER_OF_LEARNING = "https://www.royalroad.com/fiction/21220/mother-of-learning"


@contextmanager
def api_client(settings: Settings) -> Iterator[TestClient]:
    """A TestClient on `create_app(settings)`, started (lifespan run) for the block."""
    with TestClient(create_app(settings)) as client:
        yield client


__all__ = ["MOTHER_OF_LEARNING", "QUEUE_KEY", "TestClient", "api_client"]
