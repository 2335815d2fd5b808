"""In-process fan-out of messages that arrive later, for the web chat's SSE stream.

One gateway process holds the open streams of its clients. With several gateways, a
shared channel (PostgreSQL LISTEN/NOTIFY) would feed this bus; see ARCHITECTURE.md.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

QUEUE_LIMIT = 100


class EventBus:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)

    def subscribe(self, key: str) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=QUEUE_LIMIT)
        self._subscribers[key].add(queue)
        return queue

    def unsubscribe(self, key: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        subscribers = self._subscribers.get(key)
        if subscribers is None:
            return
        subscribers.discard(queue)
        if not subscribers:
            del self._subscribers[key]

    def has_subscribers(self, key: str) -> bool:
        return bool(self._subscribers.get(key))

    def publish(self, key: str, event: dict[str, Any]) -> int:
        """Queue the event for every open stream of ``key``; return how many got it."""
        delivered = 0
        for queue in list(self._subscribers.get(key, ())):
            if queue.full():
                # A stalled client: drop its oldest event rather than block everyone.
                queue.get_nowait()
            queue.put_nowait(event)
            delivered += 1
        return delivered
