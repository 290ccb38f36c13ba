"""What a mutation tells the subscriptions of its own tenant, and nobody else's.

In memory and bounded: each subscriber has a queue of ``max_queue`` events, and one that falls
further behind loses the oldest rather than holding the publisher up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Generic, TypeVar

EventT = TypeVar("EventT")

MAX_QUEUE = 100


class TenantEvents(Generic[EventT]):
    def __init__(self, max_queue: int = MAX_QUEUE) -> None:
        self._max_queue = max_queue
        self._queues: dict[str, set[asyncio.Queue[EventT]]] = {}

    def publish(self, tenant_id: str, event: EventT) -> None:
        for queue in self._queues.get(tenant_id, ()):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)

    async def listen(self, tenant_id: str) -> AsyncGenerator[EventT, None]:
        """The tenant's events from now on, until the caller stops iterating."""
        queue: asyncio.Queue[EventT] = asyncio.Queue(self._max_queue)
        queues = self._queues.setdefault(tenant_id, set())
        queues.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            queues.discard(queue)
            if not queues and self._queues.get(tenant_id) is queues:
                del self._queues[tenant_id]

    def listeners(self, tenant_id: str) -> int:
        return len(self._queues.get(tenant_id, ()))
