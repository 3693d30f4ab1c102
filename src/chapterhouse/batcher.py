"""Coalesce concurrent calls into batches, so a burst costs one round trip instead of many.

A call never joins a batch already under way: it waits for the next one, which starts after
the call arrived. So what a batch reads or writes is never older than any of its callers, and
coalescing changes no answer, only how many round trips the answers take. With nothing in
flight, a call starts its batch at once: an idle server adds no wait.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

log = logging.getLogger(__name__)

# One result per key, in order: a value, or the exception that call raises.
BatchFunction = Callable[[list[K]], Awaitable[Sequence[V | BaseException]]]


class Batcher(Generic[K, V]):
    """Runs `run(keys)` for the calls that arrived while earlier batches were in flight."""

    def __init__(self, run: BatchFunction[K, V], *, max_size: int = 64, in_flight: int = 1):
        self._run = run
        self._max_size = max_size
        self._in_flight = in_flight
        self._pending: list[tuple[K, asyncio.Future[V]]] = []
        self._running: set[asyncio.Task[None]] = set()

    async def __call__(self, key: K) -> V:
        """The result for `key`, computed in the next batch to start."""
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._pending.append((key, future))
        if len(self._running) < self._in_flight:
            self._start()
        return await future

    def _start(self) -> None:
        batch = self._pending[: self._max_size]
        del self._pending[: self._max_size]
        task = asyncio.get_running_loop().create_task(self._batch(batch))
        self._running.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if self._pending and len(self._running) < self._in_flight:
            self._start()

    async def _batch(self, batch: list[tuple[K, asyncio.Future[V]]]) -> None:
        try:
            results = await self._run([key for key, _ in batch])
        except Exception as exc:  # every caller of the batch hears of it
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        except BaseException:  # cancelled (the app stops): so are its callers
            for _, future in batch:
                future.cancel()
            raise
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():  # its caller went away (a client that hung up)
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
